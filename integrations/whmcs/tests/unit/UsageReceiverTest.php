<?php
// usage.php's receiver: a delivery is verified against the vhis3 server records' Access Hash,
// checked, stored once by webhook-id, and only then answered 2xx.

namespace Vhis3Tests;

use StandIn\StandIn;
use WHMCS\Database\Capsule;
use WHMCS\Module\Server\Vhis3\CallLog;
use WHMCS\Module\Server\Vhis3\UsageReceiver;
use WHMCS\Module\Server\Vhis3\UsageStore;

final class UsageReceiverTest extends ModuleTestCase
{
    private const ID = 's3-usage-8000000000000065-2026-11-26T10:00:00.000Z-1800';

    /** @var UsageReceiver */
    private $receiver;
    /** @var int */
    private $at;

    protected function setUp(): void
    {
        parent::setUp();
        $this->receiver = new UsageReceiver(new UsageStore(), new CallLog());
        $this->at = (int) self::NOW;
    }

    private function body(): string
    {
        return UsageFixtures::collected(self::ID, '2026-11-26T10:00:00.000Z', [
            UsageFixtures::record('a14040e0b2ef8b28', 'ada+whmcs-1@example.com', 'photos', ['put' => 3, 'get' => 10], 4000, 9000),
            UsageFixtures::record('a14040e0b2ef8b28', 'ada+whmcs-1@example.com', 'docs', ['list' => 2, 'other' => 1], 100, 50),
            UsageFixtures::record('', null, 'photos', ['get' => 7], 0, 700),
        ]);
    }

    private function deliver(string $body, ?array $headers = null, string $secret = self::USAGE_SECRET, string $id = self::ID): array
    {
        $headers = $headers !== null ? $headers : UsageFixtures::headers($secret, $id, $this->at, $body);
        return $this->receiver->handle('POST', $headers, $body, $this->at);
    }

    private function rows(): array
    {
        if (!Capsule::schema()->hasTable(UsageStore::USAGE)) {
            return [];
        }
        return array_map(static function ($row) {
            return [$row->kind, $row->email, $row->user_id, (int) $row->period_start, (int) $row->downloaded, (int) $row->uploaded, (int) $row->requests, (int) $row->stored_bytes];
        }, Capsule::table(UsageStore::USAGE)->orderBy('id')->get()->all());
    }

    public function testStoresADeliveryOncePerUserAndEmailAndCreatesTheTablesOnFirstUse(): void
    {
        $this->assertFalse(Capsule::schema()->hasTable(UsageStore::DELIVERIES));
        [$status, $answer] = $this->deliver($this->body());
        $this->assertSame(200, $status);
        $this->assertSame(['webhookId' => self::ID, 'stored' => true], $answer);
        $start = gmmktime(10, 0, 0, 11, 26, 2026);
        $this->assertSame([
            ['transfer', 'ada+whmcs-1@example.com', 'a14040e0b2ef8b28', $start, 9050, 4100, 16, 0],
            ['transfer', null, '', $start, 700, 0, 7, 0],
        ], $this->rows());
    }

    public function testARedeliveryAnswers2xxAndChangesNothing(): void
    {
        $this->deliver($this->body());
        $before = $this->rows();
        $this->at += 60;
        [$status, $answer] = $this->deliver($this->body());
        $this->assertSame(200, $status);
        $this->assertFalse($answer['stored']);
        $this->assertSame($before, $this->rows());
        $this->assertSame(1, (new UsageStore())->deliveryCount());
    }

    public function testABadSignatureIs401AndStoresNothing(): void
    {
        $wrong = 'whsec_' . base64_encode(str_repeat('w', 32));
        [$status, $answer] = $this->deliver($this->body(), null, $wrong);
        $this->assertSame(401, $status);
        $this->assertSame('unauthorized', $answer['error']['code']);
        $headers = UsageFixtures::headers(self::USAGE_SECRET, self::ID, $this->at, $this->body());
        $this->assertSame(401, $this->deliver($this->body() . ' ', $headers)[0], 'another body');
        $this->assertSame(401, $this->receiver->handle('POST', $headers, $this->body(), $this->at + 301)[0], 'too old');
        $this->assertSame(401, $this->deliver($this->body(), ['webhook-id' => self::ID])[0], 'unsigned');
        $this->assertSame(401, $this->deliver('not json', null, $wrong)[0], 'the signature is checked before the body');
        $this->assertSame([], $this->rows());
    }

    public function testAnySecretOfAnyVhis3ServerVerifiesDuringRotation(): void
    {
        $next = 'whsec_' . base64_encode(str_repeat('n', 32));
        Capsule::table('tblservers')->where('id', $this->serverId)->update(['accesshash' => self::USAGE_SECRET . ' ' . $next]);
        $third = 'whsec_' . base64_encode(str_repeat('t', 40));
        StandIn::addServer(['hostname' => 'other.example.com', 'password' => self::SIGNING_SECRET, 'accesshash' => $third]);
        Capsule::table('tblservers')->insert(['type' => 'cpanel', 'accesshash' => 'whsec_' . base64_encode(str_repeat('c', 32))]);
        $this->assertSame(200, $this->deliver($this->body(), null, $next)[0]);
        $this->assertSame(200, $this->deliver(UsageFixtures::storage('a', 'a@example.com', '2026-11-26T11:00:00.000Z', 5), null, $third, 'storage-a-2026-11-26T11:00:00.000Z')[0]);
        $this->assertSame(401, $this->deliver($this->body(), null, 'whsec_' . base64_encode(str_repeat('c', 32)))[0], 'not another module\'s server');
    }

    public function testAMalformedBodyIs400NamingTheFieldAndStoresNothing(): void
    {
        $valid = json_decode($this->body(), true);
        $cases = [
            ['not json', 'body'],
            ['[1,2]', 'body'],
            [json_encode(['type' => 'usage.other'] + $valid), 'type'],
            [json_encode(array_diff_key($valid, ['timestamp' => 1])), 'timestamp'],
            [json_encode(['data' => ['periodStart' => 'yesterday'] + $valid['data']] + $valid), 'data.periodStart'],
            [json_encode(['data' => ['periodStart' => '2026-02-30T00:00:00.000Z'] + $valid['data']] + $valid), 'data.periodStart'],
            [str_replace('"get":10', '"get":-1', $this->body()), 'data.records[0].ops.get'],
            [str_replace('"get":10', '"get":1.5', $this->body()), 'data.records[0].ops.get'],
            [str_replace('"uploaded":4000', '"uploaded":99999999999999999999', $this->body()), 'data.records[0].bytes.uploaded'],
            [str_replace('"email":"ada+whmcs-1@example.com"', '"email":7', $this->body()), 'data.records[0].email'],
            [json_encode(['data' => ['records' => 'none'] + $valid['data']] + $valid), 'data.records'],
            [UsageFixtures::storage('a', 'a@example.com', '2026-11-26T11:00:00.000Z', -5), 'data.bytes'],
        ];
        foreach ($cases as $case) {
            [$status, $answer] = $this->deliver($case[0]);
            $this->assertSame(400, $status, $case[0]);
            $this->assertStringStartsWith($case[1] . ':', $answer['error']['message'], $case[0]);
        }
        $this->assertSame(400, $this->deliver($this->body(), null, self::USAGE_SECRET, str_repeat('x', 192))[0], 'an id too long to keep');
        $this->assertSame([], $this->rows());
        $this->assertSame(0, (new UsageStore())->deliveryCount());
    }

    public function testOnlyPostIsAccepted(): void
    {
        $this->assertSame(405, $this->receiver->handle('GET', [], '', $this->at)[0]);
    }

    public function testWithoutAnyUsageSecretNothingIsAcknowledged(): void
    {
        Capsule::table('tblservers')->update(['accesshash' => '']);
        [$status, $answer] = $this->deliver($this->body());
        $this->assertSame(500, $status);
        $this->assertStringContainsString('Access Hash', $answer['error']['message']);
    }

    public function testAStoreThatFailsIsA5xxSoTheSenderRetries(): void
    {
        (new UsageStore())->ensureSchema();
        Capsule::schema()->drop(UsageStore::USAGE);
        Capsule::schema()->create(UsageStore::USAGE, function ($t) {
            $t->increments('id');
        });
        [$status] = $this->deliver($this->body());
        $this->assertSame(500, $status);
        $this->assertSame(0, (new UsageStore())->deliveryCount(), 'the delivery row was rolled back with its usage rows');
    }

    public function testStorageMessagesAreKeptPerHour(): void
    {
        $this->deliver(UsageFixtures::storage('a14040e0b2ef8b28', 'ada+whmcs-1@example.com', '2026-11-26T11:00:00.000Z', 123456789), null, self::USAGE_SECRET, 'storage-a14040e0b2ef8b28-2026-11-26T11:00:00.000Z');
        $this->assertSame([['storage', 'ada+whmcs-1@example.com', 'a14040e0b2ef8b28', gmmktime(11, 0, 0, 11, 26, 2026), 0, 0, 0, 123456789]], $this->rows());
    }

    public function testTheSignatureAndSecretNeverReachTheLog(): void
    {
        $headers = UsageFixtures::headers(self::USAGE_SECRET, self::ID, $this->at, $this->body());
        $this->deliver($this->body(), $headers);
        $this->deliver('{}', UsageFixtures::headers(self::USAGE_SECRET, 'x', $this->at, '{}'));
        $this->assertNotEmpty(StandIn::$moduleLog);
        foreach (StandIn::$moduleLog as $entry) {
            foreach ([self::USAGE_SECRET, substr(self::USAGE_SECRET, 6), substr($headers['webhook-signature'], 3)] as $secret) {
                $this->assertStringNotContainsString($secret, $entry['request'] . $entry['response']);
            }
        }
    }
}
