<?php
// The module where WHMCS hands it less than the documentation promises: a service model whose
// properties can only be saved, no serviceid (only accountid), WHMCS tables it cannot query.
// Actions still work where that is safe, and refuse with a reason where it is not.

namespace Vhis3Tests;

use StandIn\StandIn;
use WHMCS\Database\Capsule;
use WHMCS\Module\Server\Vhis3\UsageStore;

final class ThinSurroundingsTest extends ModuleTestCase
{
    public function testCreateWithAModelThatOnlySavesAndOnlyAnAccountId(): void
    {
        // Prepare: a model with a save() only, no customfields, accountid instead of serviceid.
        $saved = new \ArrayObject();
        $params = $this->params();
        unset($params['serviceid'], $params['customfields']);
        $params['model'] = (object) ['serviceProperties' => new class ($saved) {
            private $saved;

            public function __construct(\ArrayObject $saved)
            {
                $this->saved = $saved;
            }

            public function save(array $values): void
            {
                foreach ($values as $name => $value) {
                    $this->saved[$name] = $value;
                }
            }
        }];
        $this->functions->queue(FakeTransport::json(200, [
            'userId' => 'a14040e0b2ef8b28', 'email' => 'x', 'created' => true,
            'accessKeys' => [['accessKeyId' => self::ACCESS_KEY_ID, 'secretAccessKey' => self::SECRET_KEY]],
        ]));
        // Act
        $result = vhis3_CreateAccount($params);
        // Assess
        $this->assertSame('success', $result);
        $email = "ada+whmcs-{$this->serviceId}@example.com";
        $this->assertSame($email, $this->functions->requests[0]['json']['data']['email']);
        $this->assertSame(['Username' => $email, 'Password' => self::SECRET_KEY, 'Access Key ID' => self::ACCESS_KEY_ID], $saved->getArrayCopy());
    }

    public function testTerminateWithoutTheServicesTableProceedsOnlyForAPerServiceAddress(): void
    {
        $derived = $this->params($this->created(null, "ada+whmcs-{$this->serviceId}@example.com"));
        $shared = $this->params($this->created(StandIn::addService($this->clientId, $this->productId, $this->serverId), 'ada@example.com'));
        Capsule::schema()->drop('tblproducts');
        $this->functions->queue(FakeTransport::json(200, ['email' => 'x', 'userId' => null, 'state' => 'absent', 'deletedBuckets' => []]));
        $this->assertSame('success', vhis3_TerminateAccount($derived));
        $refused = vhis3_TerminateAccount($shared);
        $this->assertStringStartsWith('Terminate failed: the services sharing this S3 user could not be looked up', $refused);
        $this->assertCount(1, $this->functions->requests);
    }

    public function testMetricProviderWithoutTheServicesTableReportsEveryUserWithUsage(): void
    {
        $body = UsageFixtures::storage('u', 'ada@example.com', '2026-11-26T11:00:00.000Z', 7200000000000);
        (new \WHMCS\Module\Server\Vhis3\UsageReceiver(new UsageStore(), new \WHMCS\Module\Server\Vhis3\CallLog()))
            ->handle('POST', UsageFixtures::headers(self::USAGE_SECRET, 'storage-u-11', (int) self::NOW, $body), $body, (int) self::NOW);
        Capsule::schema()->drop('tblhosting');
        $usage = vhis3_MetricProvider(['serverid' => $this->serverId])->usage();
        $this->assertSame(['ada@example.com'], array_keys($usage));
        $this->assertSame(10.0, $usage['ada@example.com'][3]->usage()->value(), '7200 GB for one hour of 720');
    }

    public function testTheClientAreaShowsTheKeysWhenUsageCannotBeRead(): void
    {
        $this->created(null, 'ada+whmcs-1@example.com');
        (new UsageStore())->ensureSchema();
        Capsule::schema()->drop(UsageStore::USAGE);
        Capsule::schema()->create(UsageStore::USAGE, function ($t) {
            $t->increments('id');
        });
        $area = vhis3_ClientArea($this->params());
        $this->assertSame('templates/clientarea', $area['templatefile']);
        $this->assertSame(self::ACCESS_KEY_ID, $area['vars']['vhis3']['accessKeyId']);
        $this->assertSame('0', $area['vars']['vhis3']['requests']);
    }
}
