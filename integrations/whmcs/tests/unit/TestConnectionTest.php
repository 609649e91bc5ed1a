<?php
// TestConnection: the functions answer /healthz and refuse a signed envelope without an e-mail
// with 400 (signature accepted, nothing touched) on every route, or staff read what is wrong.

namespace Vhis3Tests;

use StandIn\StandIn;
use WHMCS\Module\Server\Vhis3\HttpResponse;

final class TestConnectionTest extends ModuleTestCase
{
    private function server(array $fields = []): array
    {
        if ($fields !== []) {
            \WHMCS\Database\Capsule::table('tblservers')->where('id', $this->serverId)->update($fields);
        }
        return StandIn::serverParams($this->serverId);
    }

    private function healthyFunctions(): void
    {
        $this->functions->responder = static function (array $request) {
            if ($request['method'] === 'GET') {
                return FakeTransport::json(200, ['status' => 'ok']);
            }
            return FakeTransport::error(400, 'invalid_input', 'data.email: is required');
        };
    }

    public function testSucceedsWhenEveryRouteAcceptsTheSignatureAndRefusesTheBody(): void
    {
        $this->healthyFunctions();
        $result = vhis3_TestConnection($this->server());
        $this->assertSame(['success' => true, 'error' => ''], $result);
        $this->assertSame('https://functions.example.com/healthz', $this->functions->requests[0]['url']);
        $posts = $this->functions->posts();
        $this->assertSame(
            ['provision', 'suspend', 'resume', 'terminate', 'rotate-key'],
            array_map(static function ($r) {
                return $r['json']['type'];
            }, $posts)
        );
        foreach ($posts as $post) {
            $this->assertSame('https://functions.example.com/' . $post['json']['type'], $post['url']);
            $this->assertEquals(new \stdClass(), json_decode($post['body'])->data, 'data without an e-mail');
            $this->assertSignedWith(self::SIGNING_SECRET, $post);
        }
        $this->assertNoSecretLeaked($result, [self::SIGNING_SECRET, self::USAGE_SECRET]);
    }

    public function testAWrongSecretFailsNamingTheSignature(): void
    {
        $this->functions->queue(FakeTransport::json(200, ['status' => 'ok']), FakeTransport::error(401, 'unauthorized', 'no webhook signature matches', 'no_matching_signature'));
        $result = vhis3_TestConnection($this->server());
        $this->assertFalse($result['success']);
        $this->assertStringStartsWith("Test connection failed: the functions refused the module's signature", $result['error']);
        $this->assertStringContainsString('WEBHOOK_SECRET', $result['error']);
    }

    public function testFunctionsNotReadyFail(): void
    {
        $this->functions->queue(FakeTransport::json(503, ['status' => 'starting']));
        $result = vhis3_TestConnection($this->server());
        $this->assertFalse($result['success']);
        $this->assertStringContainsString('HTTP 503', $result['error']);
    }

    public function testARouteThatAcceptsAnEnvelopeWithoutEmailIsNotTheFunctions(): void
    {
        $this->functions->queue(FakeTransport::json(200, ['status' => 'ok']), FakeTransport::json(200, ['ok' => true]));
        $result = vhis3_TestConnection($this->server());
        $this->assertFalse($result['success']);
        $this->assertStringContainsString('/provision accepted an envelope without an e-mail', $result['error']);
    }

    public function testAMissingRouteNamesTheHostnameAndPrefix(): void
    {
        $this->functions->queue(FakeTransport::json(200, ['status' => 'ok']), new HttpResponse(404, '{"message":"Not Found"}'));
        $result = vhis3_TestConnection($this->server());
        $this->assertStringContainsString("server record's Hostname", $result['error']);
    }

    public function testUnreachableFunctionsFail(): void
    {
        $this->functions->queue(new \WHMCS\Module\Server\Vhis3\TransportError('no answer from https://functions.example.com/healthz: Could not resolve host'));
        $result = vhis3_TestConnection($this->server());
        $this->assertSame(['success' => false, 'error' => 'Test connection failed: the functions are not reachable: no answer from https://functions.example.com/healthz: Could not resolve host'], $result);
    }

    public function testBadServerRecordsFailBeforeAnyRequest(): void
    {
        $cases = [
            [['password' => ''], 'Password'],
            [['password' => 'hunter2'], "not 'whsec_' followed by base64"],
            [['password' => 'whsec_c2hvcnQ='], 'decodes to 5 bytes'],
            [['secure' => '', 'hostname' => 'functions.example.com'], 'must use https'],
            [['hostname' => ''], 'has no Hostname'],
            [['hostname' => 'functions.example.com', 'port' => '99999'], 'Port'],
            [['port' => '', 'accesshash' => 'whsec_!!'], 'Access Hash'],
        ];
        foreach ($cases as $case) {
            StandIn::connect(':memory:');
            StandIn::createSchema();
            $this->serverId = StandIn::addServer(array_merge([
                'hostname' => 'functions.example.com', 'secure' => 'on', 'password' => self::SIGNING_SECRET, 'accesshash' => self::USAGE_SECRET,
            ], $case[0]));
            $this->healthyFunctions();
            $result = vhis3_TestConnection(StandIn::serverParams($this->serverId));
            $this->assertFalse($result['success'], json_encode($case[0]));
            $this->assertStringContainsString($case[1], $result['error']);
            $this->assertStringNotContainsString('hunter2', $result['error']);
        }
        $this->assertCount(0, $this->functions->requests, 'nothing is sent with a bad server record');
    }

    public function testAnEmptyAccessHashIsAllowedUsageIsOptional(): void
    {
        $this->healthyFunctions();
        $this->assertTrue(vhis3_TestConnection($this->server(['accesshash' => '']))['success']);
    }
}
