<?php
// Where the module sends: Hostname (with an optional path prefix), Port and Secure, https except
// to a loopback address.

namespace Vhis3Tests;

use PHPUnit\Framework\TestCase;
use WHMCS\Module\Server\Vhis3\ModuleError;
use WHMCS\Module\Server\Vhis3\ServerRecord;

final class ServerRecordTest extends TestCase
{
    private const SECRET = 'whsec_c2lnbmluZy1zZWNyZXQtZm9yLXRoZS10ZXN0cy0zMmI=';

    private function url(string $hostname, string $port, $secure, string $ip = ''): string
    {
        $params = ['serverhostname' => $hostname, 'serverport' => $port, 'serversecure' => $secure, 'serverip' => $ip, 'serverpassword' => self::SECRET];
        return ServerRecord::fromParams($params)->url('provision');
    }

    public function testBaseUrls(): void
    {
        $this->assertSame('https://abc123.execute-api.eu-west-1.amazonaws.com/provision', $this->url('abc123.execute-api.eu-west-1.amazonaws.com', '', true));
        $this->assertSame('https://abc123.execute-api.eu-west-1.amazonaws.com/provision', $this->url('abc123.execute-api.eu-west-1.amazonaws.com', '443', 'on'));
        $this->assertSame('https://billing.example.com:8443/vhi/s3/provision', $this->url('billing.example.com/vhi/s3/', '8443', true));
        $this->assertSame('https://billing.example.com/prod/provision', $this->url('https://billing.example.com/prod', '', false), 'an https:// Hostname is https');
        $this->assertSame('http://127.0.0.1:3000/provision', $this->url('127.0.0.1', '3000', false));
        $this->assertSame('http://127.0.0.1:3917/provision', $this->url('127.0.0.1:3917', '', ''));
        $this->assertSame('http://localhost:3000/provision', $this->url('LOCALHOST', '3000', false));
        $this->assertSame('http://[::1]:3000/provision', $this->url('[::1]:3000', '', false));
        $this->assertSame('http://[::1]:3000/provision', $this->url('::1', '3000', false));
        $this->assertSame('https://10.0.0.5/provision', $this->url('', '', true, '10.0.0.5'), 'the IP address when there is no hostname');
    }

    public function testPlainHttpOnlyToLoopback(): void
    {
        foreach (['billing.example.com', '10.0.0.5', 'http://billing.example.com', '127.0.0.1.nip.io'] as $host) {
            try {
                $this->url($host, '3000', false);
                $this->fail("$host over http was accepted");
            } catch (ModuleError $e) {
                $this->assertStringContainsString('must use https', $e->getMessage());
            }
        }
    }

    public function testMalformedHostnamesAreRefused(): void
    {
        foreach (['user:pw@billing.example.com', 'billing.example.com?x=1', 'bill ing.example.com', 'billing.example.com/a b', 'billing.example.com:12x'] as $host) {
            try {
                $this->url($host, '', true);
                $this->fail("$host was accepted");
            } catch (ModuleError $e) {
                $this->assertStringContainsString('server record', $e->getMessage());
            }
        }
    }
}
