<?php
// The client area: endpoint, S3 user and access key id for anyone who may see the service, the
// secret key only for the client's owner; Rotate key from the client area only for the owner.

namespace Vhis3Tests;

use StandIn\StandIn;
use WHMCS\Authentication\CurrentUser;

final class ClientAreaTest extends ModuleTestCase
{
    protected function setUp(): void
    {
        parent::setUp();
        StandIn::setProductOptions($this->productId, [10 => 'https://s3.example.com']);
        $this->created(null, 'ada+whmcs-1@example.com');
    }

    private function viewer(int $userId, int $ownerId, ?int $clientId = null): void
    {
        CurrentUser::$user = (object) ['id' => $userId];
        CurrentUser::$client = new class ($clientId === null ? $this->clientId : $clientId, $ownerId) {
            public $id;
            private $ownerId;

            public function __construct(int $id, int $ownerId)
            {
                $this->id = $id;
                $this->ownerId = $ownerId;
            }

            public function owner()
            {
                return (object) ['id' => $this->ownerId];
            }
        };
    }

    public function testTheOwnerSeesTheSecret(): void
    {
        $this->viewer(5, 5);
        $vars = vhis3_ClientArea($this->params())['vars']['vhis3'];
        $this->assertSame('https://s3.example.com', $vars['endpoint']);
        $this->assertSame('ada+whmcs-1@example.com', $vars['user']);
        $this->assertSame(self::ACCESS_KEY_ID, $vars['accessKeyId']);
        $this->assertTrue($vars['isOwner']);
        $this->assertSame(self::SECRET_KEY, $vars['secretKey']);
    }

    public function testAnInvitedUserOrAnotherClientDoesNot(): void
    {
        foreach ([[6, 5, null], [5, 5, 999], null] as $case) {
            CurrentUser::$user = null;
            CurrentUser::$client = null;
            if ($case !== null) {
                $this->viewer($case[0], $case[1], $case[2]);
            }
            $vars = vhis3_ClientArea($this->params())['vars']['vhis3'];
            $this->assertFalse($vars['isOwner']);
            $this->assertSame('', $vars['secretKey']);
            $this->assertSame(self::ACCESS_KEY_ID, $vars['accessKeyId']);
        }
    }

    public function testTheTemplateShowsTheSecretOnlyWhenGiven(): void
    {
        $template = (string) file_get_contents(__DIR__ . '/../../modules/servers/vhis3/templates/clientarea.tpl');
        $this->assertMatchesRegularExpression('/\{if \$vhis3\.isOwner && \$vhis3\.secretKey\}.*\{\$vhis3\.secretKey\|escape/s', $template);
        $this->assertStringContainsString('name="a" value="rotateKey"', $template);
        foreach (['endpoint', 'user', 'accessKeyId', 'downloadedGb', 'uploadedGb', 'requests', 'storageGbMonths'] as $var) {
            $this->assertStringContainsString('{$vhis3.' . $var . "|escape:'html'}", $template);
        }
    }

    public function testABrokenProductSettingShowsAnErrorTemplateNotAPhpError(): void
    {
        StandIn::setProductOptions($this->productId, [1 => 'lots']);
        $this->assertSame('templates/error', vhis3_ClientArea($this->params())['templatefile']);
    }

    /**
     * WHMCS defines CLIENTAREA in the client area; a constant, so this runs in its own process.
     *
     * @runInSeparateProcess
     * @preserveGlobalState disabled
     */
    public function testOnlyTheOwnerRotatesTheKeyFromTheClientArea(): void
    {
        define('CLIENTAREA', true);
        $this->viewer(6, 5);
        $this->assertSame('Rotate key failed: only the account owner can rotate the key of this service', vhis3_rotateKey($this->params()));
        $this->assertCount(0, $this->functions->requests);
        $this->viewer(5, 5);
        $this->functions->queue(FakeTransport::json(200, [
            'userId' => 'a14040e0b2ef8b28', 'email' => 'ada+whmcs-1@example.com',
            'accessKeyId' => 'a14040e0b2ef8b28NEW3', 'secretAccessKey' => 'new-secret-key-0000000000000000000000000', 'revokedAccessKeyIds' => [],
        ]));
        $this->assertSame('success', vhis3_rotateKey($this->params()));
    }
}
