<?php
// What WHMCS bills from: MetricProvider's four metrics (month-to-date, GB = 10^9 bytes, storage in
// GB-months to date), UsageUpdate's disk and bandwidth in MB, and the usage staff and clients see.

namespace Vhis3Tests;

use StandIn\StandIn;
use WHMCS\Database\Capsule;
use WHMCS\Module\Server\Vhis3\CallLog;
use WHMCS\Module\Server\Vhis3\MetricProvider;
use WHMCS\Module\Server\Vhis3\UsageReceiver;
use WHMCS\Module\Server\Vhis3\UsageStore;
use WHMCS\UsageBilling\Contracts\Metrics\MetricInterface;

final class UsageBillingTest extends ModuleTestCase
{
    private const ADA = 'ada+whmcs-1@example.com';
    private const BOB = 'bob+whmcs-2@example.com';

    /** @var int */
    private $bobService;

    protected function setUp(): void
    {
        parent::setUp();
        $this->created(null, self::ADA);
        $bob = StandIn::addClient('bob@example.com', 'Bob');
        $this->bobService = $this->created(StandIn::addService($bob, $this->productId, $this->serverId), self::BOB);
        // Now is 2026-11-26T12:00:00Z: November has 30 days, 720 hours.
        $receiver = new UsageReceiver(new UsageStore(), new CallLog());
        $deliveries = [
            // In November: counted.
            ['s3-usage-1-a', UsageFixtures::collected('s3-usage-1-a', '2026-11-01T00:00:00.000Z', [
                UsageFixtures::record('u-ada', self::ADA, 'photos', ['put' => 5, 'get' => 20, 'list' => 1, 'other' => 2], 1500000000, 2500000001),
                UsageFixtures::record('u-bob', self::BOB, 'backup', ['put' => 1], 7, 0),
            ])],
            ['s3-usage-1-b', UsageFixtures::collected('s3-usage-1-b', '2026-11-26T11:30:00.000Z', [
                UsageFixtures::record('u-ada', self::ADA, 'docs', ['get' => 4], 0, 500000000),
            ])],
            // October and December: not this month.
            ['s3-usage-1-c', UsageFixtures::collected('s3-usage-1-c', '2026-10-31T23:30:00.000Z', [
                UsageFixtures::record('u-ada', self::ADA, 'photos', ['get' => 1000], 9, 99999999999),
            ])],
            ['s3-usage-1-d', UsageFixtures::collected('s3-usage-1-d', '2026-12-01T00:00:00.000Z', [
                UsageFixtures::record('u-ada', self::ADA, 'photos', ['get' => 1000], 9, 99999999999),
            ])],
            // A user no WHMCS service has.
            ['s3-usage-1-e', UsageFixtures::collected('s3-usage-1-e', '2026-11-02T00:00:00.000Z', [
                UsageFixtures::record('u-eve', 'eve@example.com', 'x', ['get' => 1], 1, 1),
            ])],
            ['storage-u-ada-2026-11-26T10', UsageFixtures::storage('u-ada', self::ADA, '2026-11-26T10:00:00.000Z', 720000000000)],
            ['storage-u-ada-2026-11-26T11', UsageFixtures::storage('u-ada', self::ADA, '2026-11-26T11:00:00.000Z', 1440000000000)],
            ['storage-u-ada-2026-10-31T23', UsageFixtures::storage('u-ada', self::ADA, '2026-10-31T23:00:00.000Z', 999000000000)],
        ];
        foreach ($deliveries as [$id, $body]) {
            [$status] = $receiver->handle('POST', UsageFixtures::headers(self::USAGE_SECRET, $id, (int) self::NOW, $body), $body, (int) self::NOW);
            $this->assertSame(200, $status);
        }
    }

    private static function values(array $metrics): array
    {
        $values = [];
        foreach ($metrics as $metric) {
            $values[$metric->systemName()] = $metric->usage()->value();
        }
        return $values;
    }

    public function testTheFourMetricsArePeriodMonthAndKeyedBySystemName(): void
    {
        $provider = vhis3_MetricProvider(StandIn::serverParams($this->serverId));
        $this->assertInstanceOf(MetricProvider::class, $provider);
        $metrics = $provider->metrics();
        $this->assertSame(['s3_downloaded_gb', 's3_uploaded_gb', 's3_requests', 's3_storage_gb'], array_keys($metrics));
        foreach ($metrics as $name => $metric) {
            $this->assertSame($name, $metric->systemName());
            $this->assertSame(MetricInterface::TYPE_PERIOD_MONTH, $metric->type());
        }
        $this->assertSame('username', vhis3_MetaData()['ListAccountsUniqueIdentifierField']);
    }

    public function testUsageIsMonthToDatePerServiceKeyedByUsername(): void
    {
        $usage = vhis3_MetricProvider(StandIn::serverParams($this->serverId))->usage();
        $this->assertSame([self::ADA, self::BOB], array_keys($usage), 'the services of this server only');
        $this->assertSame([
            's3_downloaded_gb' => 3000000001 / 1e9,
            's3_uploaded_gb' => 1.5,
            's3_requests' => 32,
            // (720 GB + 1440 GB) for one hour each, over the 720 hours of November.
            's3_storage_gb' => 2160000000000 / 1e9 / 720,
        ], self::values($usage[self::ADA]));
        $this->assertSame(['s3_downloaded_gb' => 0.0, 's3_uploaded_gb' => 7 / 1e9, 's3_requests' => 1, 's3_storage_gb' => 0.0], self::values($usage[self::BOB]));
    }

    public function testTenantUsageOfOneService(): void
    {
        $provider = vhis3_MetricProvider(StandIn::serverParams($this->serverId));
        $this->assertSame(3.0, self::values($provider->tenantUsage(self::ADA))['s3_storage_gb']);
        $this->assertSame(['s3_downloaded_gb' => 0.0, 's3_uploaded_gb' => 0.0, 's3_requests' => 0, 's3_storage_gb' => 0.0], self::values($provider->tenantUsage('nobody@example.com')));
    }

    public function testTheMonthIsTheCalendarMonthUtc(): void
    {
        // 2026-12-01T00:00:00Z: only December's object counts; December has 744 hours.
        $this->now = gmmktime(0, 0, 0, 12, 1, 2026);
        $values = self::values(vhis3_MetricProvider(StandIn::serverParams($this->serverId))->tenantUsage(self::ADA));
        $this->assertSame(99999999999 / 1e9, $values['s3_downloaded_gb']);
        $this->assertSame(1000, $values['s3_requests']);
        $this->assertSame(0.0, $values['s3_storage_gb']);
    }

    public function testNothingStoredYetIsZeroNotAnError(): void
    {
        Capsule::schema()->drop(UsageStore::USAGE);
        $usage = vhis3_MetricProvider(StandIn::serverParams($this->serverId))->usage();
        $this->assertSame(0, self::values($usage[self::ADA])['s3_requests']);
    }

    public function testUsageUpdateFillsDiskAndBandwidthInMegabytes(): void
    {
        $this->assertSame('success', vhis3_UsageUpdate(StandIn::serverParams($this->serverId)));
        $ada = Capsule::table('tblhosting')->where('id', $this->serviceId)->first();
        $this->assertSame(1440000, (int) $ada->diskusage, 'the latest hour: 1440 GB = 1,440,000 MB');
        $this->assertSame(3000, (int) $ada->bwusage, "November's downloads: 3,000,000,001 bytes");
        $this->assertSame(10000, (int) $ada->disklimit, 'the product quota, 10 GB');
        $this->assertNotNull($ada->lastupdate);
        $bob = Capsule::table('tblhosting')->where('id', $this->bobService)->first();
        $this->assertSame([0, 0], [(int) $bob->diskusage, (int) $bob->bwusage]);
    }

    public function testStaffAndClientsSeeTheMonthSoFar(): void
    {
        $fields = vhis3_AdminServicesTabFields($this->params());
        $this->assertSame(self::ACCESS_KEY_ID, $fields['S3 access key ID']);
        $this->assertStringContainsString(self::ADA, $fields['S3 user']);
        $this->assertSame('3.000 GB downloaded, 1.500 GB uploaded, 32 requests, 3.0000 GB-months stored (month to date, UTC)', $fields['S3 usage 2026-11']);
        $this->assertStringNotContainsString(self::SECRET_KEY, json_encode($fields));
        $area = vhis3_ClientArea($this->params());
        $this->assertSame('templates/clientarea', $area['templatefile']);
        $this->assertSame(['2026-11', '3.000', '1.500', '32', '3.0000'], [
            $area['vars']['vhis3']['month'], $area['vars']['vhis3']['downloadedGb'], $area['vars']['vhis3']['uploadedGb'],
            $area['vars']['vhis3']['requests'], $area['vars']['vhis3']['storageGbMonths'],
        ]);
    }
}
