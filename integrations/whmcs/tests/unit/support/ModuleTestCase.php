<?php
// Shared arrangement for the module's unit tests: a fresh stand-in database (in-memory SQLite),
// one vhis3 server record, one product, one client with one service, the fake functions, a
// fixed clock and no real sleeping.

namespace Vhis3Tests;

use PHPUnit\Framework\TestCase;
use StandIn\ServiceProperties;
use StandIn\StandIn;
use WHMCS\Module\Server\Vhis3\Module;

abstract class ModuleTestCase extends TestCase
{
    /** The functions' inbound secret (Password) and the usage secret (Access Hash). */
    public const SIGNING_SECRET = 'whsec_c2lnbmluZy1zZWNyZXQtZm9yLXRoZS10ZXN0cy0zMmI=';
    public const USAGE_SECRET = 'whsec_dXNhZ2Utc2VjcmV0LWZvci10aGUtdGVzdHMtMzItYnl0';
    /** 2026-11-26T12:00:00.250Z */
    public const NOW = 1795694400.25;
    public const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    public const ACCESS_KEY_ID = 'a14040e0b2ef8b28FZZ8';

    /** @var FakeTransport */
    protected $functions;
    /** @var float */
    protected $now = self::NOW;
    /** @var int[] */
    protected $sleeps = [];
    /** @var int */
    protected $serverId;
    /** @var int */
    protected $productId;
    /** @var int */
    protected $clientId;
    /** @var int */
    protected $serviceId;

    protected function setUp(): void
    {
        StandIn::connect(':memory:');
        StandIn::createSchema();
        StandIn::$moduleLog = [];
        ServiceProperties::$failSaves = false;
        \WHMCS\Authentication\CurrentUser::$user = null;
        \WHMCS\Authentication\CurrentUser::$client = null;
        $this->functions = new FakeTransport();
        $this->sleeps = [];
        Module::$transport = $this->functions;
        Module::$now = function () {
            return $this->now;
        };
        Module::$sleep = function (int $ms) {
            $this->sleeps[] = $ms;
        };
        $this->serverId = StandIn::addServer([
            'hostname' => 'functions.example.com',
            'secure' => 'on',
            'password' => self::SIGNING_SECRET,
            'accesshash' => self::USAGE_SECRET,
        ]);
        $this->productId = StandIn::addProduct([1 => '10', 3 => '100', 4 => '12.5', 7 => '2048']);
        $this->clientId = StandIn::addClient('ada@example.com');
        $this->serviceId = StandIn::addService($this->clientId, $this->productId, $this->serverId);
    }

    protected function tearDown(): void
    {
        Module::$transport = null;
        Module::$now = null;
        Module::$sleep = null;
    }

    protected function params(?int $serviceId = null): array
    {
        return StandIn::params($serviceId === null ? $this->serviceId : $serviceId);
    }

    /** A service that went through CreateAccount: the S3 user's e-mail and keys kept. */
    protected function created(?int $serviceId = null, string $email = 'ada+whmcs-1@example.com'): int
    {
        $id = $serviceId === null ? $this->serviceId : $serviceId;
        $params = StandIn::params($id);
        $params['model']->serviceProperties->save([
            'Username' => $email,
            'Password' => self::SECRET_KEY,
            'Access Key ID' => self::ACCESS_KEY_ID,
        ]);
        \WHMCS\Database\Capsule::table('tblhosting')->where('id', $id)->update(['domainstatus' => 'Active']);
        return $id;
    }

    protected function service(?int $serviceId = null): array
    {
        $id = $serviceId === null ? $this->serviceId : $serviceId;
        $row = \WHMCS\Database\Capsule::table('tblhosting')->where('id', $id)->first();
        return [
            'username' => $row->username,
            'password' => $row->password,
            'accessKeyId' => StandIn::customFields($id, (int) $row->packageid)['Access Key ID'] ?? null,
        ];
    }

    /** Checks a request's Standard Webhooks signature independently of the module's code. */
    protected function assertSignedWith(string $secret, array $request): void
    {
        $key = base64_decode(substr($secret, strlen('whsec_')));
        $headers = $request['headers'];
        $expected = 'v1,' . base64_encode(hash_hmac(
            'sha256',
            $headers['webhook-id'] . '.' . $headers['webhook-timestamp'] . '.' . $request['body'],
            $key,
            true
        ));
        $this->assertContains($expected, explode(' ', $headers['webhook-signature']), 'the request is signed with the secret');
    }

    /**
     * Nothing the module logged (as WHMCS keeps it, masked) or returned holds a secret, and the
     * signatures and secret keys that were in the raw entries were masked.
     */
    protected function assertNoSecretLeaked($returned, array $secrets): void
    {
        $forms = [];
        foreach ($secrets as $secret) {
            $forms[] = $secret;
            if (strncmp($secret, 'whsec_', 6) === 0) {
                $forms[] = substr($secret, 6);
            }
        }
        $text = is_string($returned) ? $returned : json_encode($returned);
        foreach (StandIn::$moduleLog as $entry) {
            $text .= "\n" . $entry['request'] . "\n" . $entry['response'] . "\n" . $entry['processed'];
            foreach ($this->functions->posts() as $post) {
                // The signature sent is in the raw entry, and masked in what WHMCS keeps.
                if (strpos($entry['raw']['request'], $post['headers']['webhook-signature']) !== false) {
                    $this->assertStringNotContainsString($post['headers']['webhook-signature'], $entry['request']);
                    $this->assertStringContainsString('webhook-signature: ********', $entry['request']);
                }
            }
        }
        foreach ($forms as $form) {
            $this->assertStringNotContainsString($form, $text, 'a secret reached the module log or the return value');
        }
    }
}
