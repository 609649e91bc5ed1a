<?php
// CreateAccount → provision: how $params become the envelope, what is kept on the service, and
// what staff read when something fails.

namespace Vhis3Tests;

use StandIn\ServiceProperties;
use StandIn\StandIn;
use WHMCS\Module\Server\Vhis3\HttpResponse;
use WHMCS\Module\Server\Vhis3\TransportError;

final class CreateAccountTest extends ModuleTestCase
{
    private function provisioned(string $email, array $keys = null): HttpResponse
    {
        return FakeTransport::json(200, [
            'userId' => 'a14040e0b2ef8b28',
            'email' => $email,
            'created' => true,
            'accessKeys' => $keys === null ? [['accessKeyId' => self::ACCESS_KEY_ID, 'secretAccessKey' => self::SECRET_KEY]] : $keys,
        ]);
    }

    public function testSendsASignedProvisionWithTheDerivedEmailAndTheProductsPlan(): void
    {
        // Prepare
        $this->functions->queue($this->provisioned('ada+whmcs-1@example.com'));
        // Act
        $result = vhis3_CreateAccount($this->params());
        // Assess: one signed POST to /provision, the envelope exactly as docs/contract.md §3 has it.
        $this->assertSame('success', $result);
        $this->assertCount(1, $this->functions->requests);
        $request = $this->functions->requests[0];
        $this->assertSame('POST', $request['method']);
        $this->assertSame('https://functions.example.com/provision', $request['url']);
        $this->assertSame('application/json', $request['headers']['content-type']);
        $this->assertSame('whmcs-' . $this->serviceId . '-create-1795694400250', $request['headers']['webhook-id']);
        $this->assertSame('1795694400', $request['headers']['webhook-timestamp']);
        $this->assertSignedWith(self::SIGNING_SECRET, $request);
        $this->assertSame([
            'type' => 'provision',
            'timestamp' => '2026-11-26T12:00:00.250Z',
            'data' => [
                'email' => 'ada+whmcs-' . $this->serviceId . '@example.com',
                'plan' => [
                    'quotaGb' => 10,
                    'limits' => [
                        'ops' => ['default' => null, 'get' => 100, 'put' => 12.5, 'list' => null, 'delete' => null],
                        'bandwidth' => ['out' => 2048],
                    ],
                ],
            ],
        ], $request['json']);
    }

    public function testKeepsTheEmailAsUsernameTheSecretAsPasswordAndTheKeyIdInACustomField(): void
    {
        $this->functions->queue($this->provisioned('ada+whmcs-1@example.com'));
        vhis3_CreateAccount($this->params());
        $this->assertSame([
            'username' => 'ada+whmcs-' . $this->serviceId . '@example.com',
            'password' => self::SECRET_KEY,
            'accessKeyId' => self::ACCESS_KEY_ID,
        ], $this->service());
        $this->assertSame(self::ACCESS_KEY_ID, $this->params()['customfields']['Access Key ID']);
    }

    public function testTwoServicesOfOneClientAreTwoUsers(): void
    {
        $second = StandIn::addService($this->clientId, $this->productId, $this->serverId);
        $this->functions->responder = function (array $request) {
            return $this->provisioned($request['json']['data']['email']);
        };
        $this->assertSame('success', vhis3_CreateAccount($this->params()));
        $this->assertSame('success', vhis3_CreateAccount($this->params($second)));
        $emails = array_map(static function ($r) {
            return $r['json']['data']['email'];
        }, $this->functions->requests);
        $this->assertSame(["ada+whmcs-{$this->serviceId}@example.com", "ada+whmcs-$second@example.com"], $emails);
    }

    public function testOnePerClientModeUsesTheClientsEmail(): void
    {
        StandIn::setProductOptions($this->productId, [8 => 'client']);
        $this->functions->queue($this->provisioned('ada@example.com'));
        $this->assertSame('success', vhis3_CreateAccount($this->params()));
        $this->assertSame('ada@example.com', $this->functions->requests[0]['json']['data']['email']);
        $this->assertSame('ada@example.com', $this->service()['username']);
    }

    public function testARepeatedCreateReachesTheSameUserEvenAfterTheClientChangedTheirEmail(): void
    {
        $this->created(null, 'ada+whmcs-1@example.com');
        \WHMCS\Database\Capsule::table('tblclients')->where('id', $this->clientId)->update(['email' => 'new@elsewhere.example']);
        $this->functions->queue($this->provisioned('ada+whmcs-1@example.com', [
            ['accessKeyId' => 'a14040e0b2ef8b28OTHR', 'secretAccessKey' => 'other-secret-key-0000000000000000000000'],
            ['accessKeyId' => self::ACCESS_KEY_ID, 'secretAccessKey' => self::SECRET_KEY],
        ]));
        $this->assertSame('success', vhis3_CreateAccount($this->params()));
        $this->assertSame('ada+whmcs-1@example.com', $this->functions->requests[0]['json']['data']['email']);
        // The pair WHMCS already held is kept when the user still has it.
        $this->assertSame(self::ACCESS_KEY_ID, $this->service()['accessKeyId']);
    }

    public function testEmptyProductSettingsSendNullsSoTheGatewayCarriesNoLeftoverLimits(): void
    {
        StandIn::setProductOptions($this->productId, [1 => '', 3 => '', 4 => '', 7 => '']);
        $this->functions->queue($this->provisioned('x@example.com'));
        vhis3_CreateAccount($this->params());
        $this->assertSame([
            'quotaGb' => null,
            'limits' => [
                'ops' => ['default' => null, 'get' => null, 'put' => null, 'list' => null, 'delete' => null],
                'bandwidth' => ['out' => null],
            ],
        ], $this->functions->requests[0]['json']['data']['plan']);
    }

    public function testAnInvalidProductSettingIsRefusedBeforeAnythingIsSent(): void
    {
        foreach ([[1 => '10.5', 'Quota (GB)'], [3 => '1.234', 'Operations per second: GET'], [7 => '-1', 'Outgoing bandwidth (KB/s)'], [9 => 'explode', 'On termination']] as $case) {
            $name = array_pop($case);
            StandIn::setProductOptions($this->productId, $case);
            $result = vhis3_CreateAccount($this->params());
            $this->assertStringStartsWith('Create failed: ', $result);
            $this->assertStringContainsString("'$name'", $result);
            StandIn::setProductOptions($this->productId, [1 => '10', 3 => '100', 7 => '2048', 9 => '']);
        }
        $this->assertCount(0, $this->functions->requests);
    }

    public function testARefusedSignatureNamesTheSignatureAndThePassword(): void
    {
        $this->functions->queue(FakeTransport::error(401, 'unauthorized', 'no webhook signature matches', 'no_matching_signature'));
        $result = vhis3_CreateAccount($this->params());
        $this->assertStringStartsWith('Create failed: ', $result);
        $this->assertStringContainsString('signature', $result);
        $this->assertStringContainsString("server record's Password", $result);
        // Nothing kept: the username WHMCS generated at order time is still there.
        $this->assertStringNotContainsString('@', $this->service()['username']);
        $this->assertSame('Gen3ratedPw', $this->service()['password']);
    }

    public function testAClockOffByMinutesIsNamedAsSuch(): void
    {
        $this->functions->queue(FakeTransport::error(401, 'unauthorized', 'webhook timestamp is more than 300 s old', 'timestamp_too_old'));
        $this->assertStringContainsString('clock', vhis3_CreateAccount($this->params()));
    }

    public function testAnInvalidInputAnswerIsQuoted(): void
    {
        $this->functions->queue(FakeTransport::error(400, 'invalid_input', 'data.plan.limits.ops.get: must be at most 1000000000'));
        $result = vhis3_CreateAccount($this->params());
        $this->assertStringContainsString('the functions refused the request: data.plan.limits.ops.get', $result);
    }

    public function testGatewayFailuresAreRetriedWithTheSameIdAndBodyThenReported(): void
    {
        $this->functions->queue(
            FakeTransport::error(502, 'gateway_rejected', 'the gateway answered 500'),
            FakeTransport::error(503, 'gateway_unavailable', 'connection refused'),
            FakeTransport::error(504, 'gateway_timeout', 'no answer in 10000 ms')
        );
        $result = vhis3_CreateAccount($this->params());
        $this->assertSame('Create failed: the S3 gateway timed out: no answer in 10000 ms', $result);
        $this->assertCount(3, $this->functions->requests);
        $ids = array_unique(array_map(static function ($r) {
            return $r['headers']['webhook-id'];
        }, $this->functions->requests));
        $bodies = array_unique(array_column($this->functions->requests, 'body'));
        $this->assertCount(1, $ids, 'one webhook-id for the whole run');
        $this->assertCount(1, $bodies, 'one body for the whole run');
        $this->assertSame([1000, 3000], $this->sleeps);
    }

    public function testALostAnswerIsRecoveredByResendingTheSameDelivery(): void
    {
        $this->functions->queue(
            new TransportError('no answer from https://functions.example.com/provision: Operation timed out', true),
            FakeTransport::error(409, 'conflict', 'webhook-id: a delivery with this id is still being processed; retry later', 'in_progress'),
            $this->provisioned('ada+whmcs-1@example.com')
        );
        $this->assertSame('success', vhis3_CreateAccount($this->params()));
        $this->assertCount(3, $this->functions->requests);
        $this->assertCount(1, array_unique(array_map(static function ($r) {
            return $r['headers']['webhook-id'];
        }, $this->functions->requests)));
        $this->assertSame(self::SECRET_KEY, $this->service()['password']);
    }

    public function testUnreachableFunctionsAreReportedAfterThreeAttempts(): void
    {
        $this->functions->queue(
            new TransportError('no answer from https://functions.example.com/provision: Connection refused'),
            new TransportError('no answer from https://functions.example.com/provision: Connection refused'),
            new TransportError('no answer from https://functions.example.com/provision: Connection refused')
        );
        $result = vhis3_CreateAccount($this->params());
        $this->assertStringStartsWith('Create failed: no answer from the functions (', $result);
        $this->assertStringContainsString('Connection refused', $result);
    }

    public function testAnAnswerFromSomethingElseSaysToCheckTheHostname(): void
    {
        $this->functions->queue(new HttpResponse(404, '<html>Not Found</html>'));
        $this->assertStringContainsString("server record's Hostname", vhis3_CreateAccount($this->params()));
    }

    public function testASaveThatFailsSaysTheUserIsReadyAndNeverQuotesTheKey(): void
    {
        ServiceProperties::$failSaves = true;
        $this->functions->queue($this->provisioned('ada+whmcs-1@example.com'));
        $result = vhis3_CreateAccount($this->params());
        $this->assertStringStartsWith('Create failed: the S3 user ada+whmcs-', $result);
        $this->assertStringContainsString('run the action again', $result);
        $this->assertStringNotContainsString(self::SECRET_KEY, $result);
    }

    public function testWithoutAServiceModelNothingIsLost(): void
    {
        $params = $this->params();
        unset($params['model']);
        $this->functions->queue($this->provisioned('ada+whmcs-1@example.com'));
        $this->assertStringContainsString('WHMCS 7.2 or later', vhis3_CreateAccount($params));
    }

    public function testNoSecretReachesTheModuleLogOrTheAnswer(): void
    {
        $this->functions->queue($this->provisioned('ada+whmcs-1@example.com'));
        $result = vhis3_CreateAccount($this->params());
        $this->assertNotEmpty(StandIn::$moduleLog);
        // The raw entry held the secret key, so masking had something to do.
        $this->assertStringContainsString(self::SECRET_KEY, StandIn::$moduleLog[0]['raw']['response']);
        $this->assertNoSecretLeaked($result, [self::SIGNING_SECRET, self::USAGE_SECRET, self::SECRET_KEY]);
    }
}
