<?php
// SuspendAccount, UnsuspendAccount, TerminateAccount, ChangePackage and the Rotate key button:
// the envelope each sends, their order, what they keep, and their failure messages.

namespace Vhis3Tests;

use StandIn\StandIn;
use WHMCS\Database\Capsule;

final class LifecycleActionsTest extends ModuleTestCase
{
    private const EMAIL = 'ada+whmcs-1@example.com';

    protected function setUp(): void
    {
        parent::setUp();
        $this->created(null, self::EMAIL);
    }

    private function state(string $state): \WHMCS\Module\Server\Vhis3\HttpResponse
    {
        return FakeTransport::json(200, ['userId' => 'a14040e0b2ef8b28', 'email' => self::EMAIL, 'state' => $state]);
    }

    public function testSuspendAndUnsuspendSendTheEmailStampedWithWhenWhmcsRanThem(): void
    {
        // Prepare
        $this->functions->queue($this->state('disabled'), $this->state('enabled'));
        // Act: WHMCS suspends, then unsuspends 1.5 s later.
        $suspended = vhis3_SuspendAccount($this->params());
        $this->now += 1.5;
        $unsuspended = vhis3_UnsuspendAccount($this->params());
        // Assess
        $this->assertSame(['success', 'success'], [$suspended, $unsuspended]);
        [$suspend, $resume] = $this->functions->requests;
        $this->assertSame('https://functions.example.com/suspend', $suspend['url']);
        $this->assertSame('https://functions.example.com/resume', $resume['url']);
        $this->assertSame(['type' => 'suspend', 'timestamp' => '2026-11-26T12:00:00.250Z', 'data' => ['email' => self::EMAIL]], $suspend['json']);
        $this->assertSame(['type' => 'resume', 'timestamp' => '2026-11-26T12:00:01.750Z', 'data' => ['email' => self::EMAIL]], $resume['json']);
        $this->assertSame("whmcs-{$this->serviceId}-suspend-1795694400250", $suspend['headers']['webhook-id']);
        $this->assertSame("whmcs-{$this->serviceId}-resume-1795694401750", $resume['headers']['webhook-id']);
        $this->assertSignedWith(self::SIGNING_SECRET, $suspend);
        $this->assertSignedWith(self::SIGNING_SECRET, $resume);
    }

    public function testALaterRunOfTheSameActionIsANewDelivery(): void
    {
        $this->functions->queue($this->state('disabled'), $this->state('disabled'));
        vhis3_SuspendAccount($this->params());
        $this->now += 86400;
        vhis3_SuspendAccount($this->params());
        [$first, $second] = $this->functions->requests;
        $this->assertNotSame($first['headers']['webhook-id'], $second['headers']['webhook-id']);
        $this->assertSame('2026-11-27T12:00:00.250Z', $second['json']['timestamp']);
    }

    public function testASkippedSuspendIsReportedBecauseTheGatewayDidNotFollowIt(): void
    {
        $this->functions->queue(FakeTransport::json(200, ['userId' => 'a14040e0b2ef8b28', 'email' => self::EMAIL, 'state' => 'enabled', 'skipped' => true]));
        $result = vhis3_SuspendAccount($this->params());
        $this->assertSame('Suspend failed: the S3 user stays enabled: a later unsuspend of this S3 user was already applied', $result);
    }

    public function testAnAbsentUserIsNamed(): void
    {
        $this->functions->queue(FakeTransport::error(404, 'not_found', 'no user with email ' . self::EMAIL));
        $this->assertSame('Unsuspend failed: the S3 gateway has no such user: no user with email ' . self::EMAIL, vhis3_UnsuspendAccount($this->params()));
    }

    public function testAServiceNeverCreatedSendsNothing(): void
    {
        $other = StandIn::addService($this->clientId, $this->productId, $this->serverId);
        foreach (['vhis3_SuspendAccount', 'vhis3_UnsuspendAccount', 'vhis3_TerminateAccount', 'vhis3_ChangePackage', 'vhis3_rotateKey'] as $function) {
            $result = $function($this->params($other));
            $this->assertStringContainsString('has no S3 user yet', $result, $function);
            $this->assertStringContainsString('run Create first', $result, $function);
        }
        $this->assertCount(0, $this->functions->requests);
    }

    public function testTerminateRefusesWhileBucketsHoldDataByDefaultAndNamesThem(): void
    {
        $this->functions->queue(FakeTransport::error(
            409,
            'conflict',
            "data.purge: the user's buckets still hold objects, object versions or unfinished uploads: photos, backups; send purge: true to delete them",
            'buckets_not_empty',
            ['buckets' => ['photos', 'backups']]
        ));
        $result = vhis3_TerminateAccount($this->params());
        $this->assertSame(['email' => self::EMAIL, 'purge' => false], $this->functions->requests[0]['json']['data']);
        $this->assertStringStartsWith("Terminate failed: the S3 user's buckets still hold data: photos, backups. Nothing was deleted.", $result);
        $this->assertStringContainsString("'On termination'", $result);
        $this->assertSame(self::SECRET_KEY, $this->service()['password'], 'the keys are kept while the user exists');
    }

    public function testTerminateWithDeleteEverythingPurgesAndForgetsTheKeys(): void
    {
        StandIn::setProductOptions($this->productId, [9 => 'delete']);
        $this->functions->queue(FakeTransport::json(200, ['email' => self::EMAIL, 'userId' => 'a14040e0b2ef8b28', 'state' => 'deleted', 'deletedBuckets' => ['photos']]));
        $this->assertSame('success', vhis3_TerminateAccount($this->params()));
        $request = $this->functions->requests[0];
        $this->assertSame('https://functions.example.com/terminate', $request['url']);
        $this->assertSame(['type' => 'terminate', 'timestamp' => '2026-11-26T12:00:00.250Z', 'data' => ['email' => self::EMAIL, 'purge' => true]], $request['json']);
        $this->assertSame(['username' => self::EMAIL, 'password' => '', 'accessKeyId' => ''], $this->service());
    }

    public function testTerminatingAnAbsentUserSucceeds(): void
    {
        $this->functions->queue(FakeTransport::json(200, ['email' => self::EMAIL, 'userId' => null, 'state' => 'absent', 'deletedBuckets' => []]));
        $this->assertSame('success', vhis3_TerminateAccount($this->params()));
    }

    public function testWithOneUserPerClientTerminateLeavesAUserAnotherServiceStillUses(): void
    {
        $other = StandIn::addService($this->clientId, $this->productId, $this->serverId);
        $this->created($other, self::EMAIL);
        $this->assertSame('success', vhis3_TerminateAccount($this->params()));
        $this->assertCount(0, $this->functions->requests);
        $this->assertStringContainsString("#$other", StandIn::$moduleLog[0]['response']);
        // Once the other service is terminated too, the user goes.
        Capsule::table('tblhosting')->where('id', $other)->update(['domainstatus' => 'Terminated']);
        $this->functions->queue(FakeTransport::json(200, ['email' => self::EMAIL, 'userId' => 'a14040e0b2ef8b28', 'state' => 'deleted', 'deletedBuckets' => []]));
        $this->assertSame('success', vhis3_TerminateAccount($this->params()));
        $this->assertCount(1, $this->functions->requests);
    }

    public function testChangePackageSendsTheNewPlanAndKeepsTheKeys(): void
    {
        $bigger = StandIn::addProduct([1 => '500', 2 => '50', 7 => '']);
        Capsule::table('tblhosting')->where('id', $this->serviceId)->update(['packageid' => $bigger]);
        $this->created(null, self::EMAIL);
        $this->functions->queue(FakeTransport::json(200, [
            'userId' => 'a14040e0b2ef8b28', 'email' => self::EMAIL, 'created' => false,
            'accessKeys' => [['accessKeyId' => self::ACCESS_KEY_ID, 'secretAccessKey' => self::SECRET_KEY]],
        ]));
        $this->assertSame('success', vhis3_ChangePackage($this->params()));
        $request = $this->functions->requests[0];
        $this->assertSame('https://functions.example.com/provision', $request['url']);
        $this->assertSame("whmcs-{$this->serviceId}-change-package-1795694400250", $request['headers']['webhook-id']);
        $this->assertSame([
            'email' => self::EMAIL,
            'plan' => [
                'quotaGb' => 500,
                'limits' => ['ops' => ['default' => 50, 'get' => null, 'put' => null, 'list' => null, 'delete' => null], 'bandwidth' => ['out' => null]],
            ],
        ], $request['json']['data']);
        $this->assertSame(self::ACCESS_KEY_ID, $this->service()['accessKeyId']);
    }

    public function testChangePackageKeepsNewKeysWhenTheUserHadToBeMadeAgain(): void
    {
        $this->functions->queue(FakeTransport::json(200, [
            'userId' => 'b81d6c5f895a8c86', 'email' => self::EMAIL, 'created' => true,
            'accessKeys' => [['accessKeyId' => 'b81d6c5f895a8c86NEW1', 'secretAccessKey' => 'fresh-secret-key-000000000000000000000000']],
        ]));
        $this->assertSame('success', vhis3_ChangePackage($this->params()));
        $this->assertSame(['username' => self::EMAIL, 'password' => 'fresh-secret-key-000000000000000000000000', 'accessKeyId' => 'b81d6c5f895a8c86NEW1'], $this->service());
    }

    public function testRotateKeyKeepsTheNewPairAndMasksBothSecrets(): void
    {
        $this->functions->queue(FakeTransport::json(200, [
            'userId' => 'a14040e0b2ef8b28', 'email' => self::EMAIL,
            'accessKeyId' => 'a14040e0b2ef8b28NEW2', 'secretAccessKey' => 'rotated+secret/key0000000000000000000000',
            'revokedAccessKeyIds' => [self::ACCESS_KEY_ID],
        ]));
        $result = vhis3_rotateKey($this->params());
        $this->assertSame('success', $result);
        $request = $this->functions->requests[0];
        $this->assertSame('https://functions.example.com/rotate-key', $request['url']);
        $this->assertSame(['type' => 'rotate-key', 'timestamp' => '2026-11-26T12:00:00.250Z', 'data' => ['email' => self::EMAIL]], $request['json']);
        $this->assertSame(['username' => self::EMAIL, 'password' => 'rotated+secret/key0000000000000000000000', 'accessKeyId' => 'a14040e0b2ef8b28NEW2'], $this->service());
        $this->assertNoSecretLeaked($result, [self::SIGNING_SECRET, self::USAGE_SECRET, self::SECRET_KEY, 'rotated+secret/key0000000000000000000000']);
    }

    public function testTheRotateButtonIsOnBothSides(): void
    {
        $this->assertSame(['Rotate key' => 'rotateKey'], vhis3_AdminCustomButtonArray());
        $this->assertSame(['Rotate key' => 'rotateKey'], vhis3_ClientAreaCustomButtonArray());
        $this->assertTrue(function_exists('vhis3_rotateKey'));
    }

    public function testEveryActionIsLoggedWithSecretsMasked(): void
    {
        $this->functions->responder = function (array $request) {
            return $this->state($request['json']['type'] === 'suspend' ? 'disabled' : 'enabled');
        };
        $results = [vhis3_SuspendAccount($this->params()), vhis3_UnsuspendAccount($this->params())];
        $this->assertSame(['SuspendAccount', 'UnsuspendAccount'], array_column(StandIn::$moduleLog, 'action'));
        foreach (StandIn::$moduleLog as $entry) {
            $this->assertSame('vhis3', $entry['module']);
            $this->assertContains(self::SIGNING_SECRET, $entry['replaceVars']);
            $this->assertContains(self::SECRET_KEY, $entry['replaceVars'], 'the service password is masked too');
        }
        $this->assertNoSecretLeaked($results, [self::SIGNING_SECRET, self::USAGE_SECRET, self::SECRET_KEY]);
    }
}
