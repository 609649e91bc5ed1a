<?php
// The module's network code against a real HTTP peer (php -S): bodies sent byte for byte,
// redirects never followed, the total timeout enforced, and the safety options set.

namespace Vhis3Tests;

use PHPUnit\Framework\TestCase;
use WHMCS\Module\Server\Vhis3\CurlTransport;
use WHMCS\Module\Server\Vhis3\TransportError;

final class CurlTransportTest extends TestCase
{
    /** @var resource|null */
    private static $server;
    /** @var string */
    private static $base;

    public static function setUpBeforeClass(): void
    {
        $probe = stream_socket_server('tcp://127.0.0.1:0');
        $port = (int) substr((string) stream_socket_get_name($probe, false), strlen('127.0.0.1:'));
        fclose($probe);
        $command = [PHP_BINARY, '-S', "127.0.0.1:$port", __DIR__ . '/support/http-peer.php'];
        self::$server = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
        self::$base = "http://127.0.0.1:$port";
        $deadline = microtime(true) + 5;
        while (@fsockopen('127.0.0.1', $port) === false) {
            if (microtime(true) > $deadline) {
                throw new \RuntimeException('php -S did not start');
            }
            usleep(50000);
        }
    }

    public static function tearDownAfterClass(): void
    {
        if (is_resource(self::$server)) {
            proc_terminate(self::$server);
            proc_close(self::$server);
        }
    }

    public function testSendsTheBodyExactlyAndReturnsTheAnswer(): void
    {
        $body = '{"type":"provision","data":{"email":"a+b@example.com","x":"é/\\\\"}}' . str_repeat(' ', 2000);
        $response = (new CurlTransport())->send('POST', self::$base . '/echo', ['content-type' => 'application/json', 'webhook-id' => 'whmcs-1-create-1'], $body);
        $this->assertSame(200, $response->status);
        $echo = $response->json();
        $this->assertSame('POST', $echo['method']);
        $this->assertSame('whmcs-1-create-1', $echo['webhookId']);
        $this->assertSame($body, $echo['body']);
        $this->assertNull($echo['expect'], 'no Expect: 100-continue round trip');
    }

    public function testNeverFollowsARedirect(): void
    {
        $response = (new CurlTransport())->send('POST', self::$base . '/redirect', [], '{}');
        $this->assertSame(302, $response->status);
        $this->assertSame('moved', $response->body);
    }

    public function testGivesUpAtTheTotalTimeout(): void
    {
        $started = microtime(true);
        try {
            (new CurlTransport(1000, 500))->send('GET', self::$base . '/slow', [], null);
            $this->fail('no timeout');
        } catch (TransportError $e) {
            $this->assertTrue($e->timedOut);
            $this->assertLessThan(2.5, microtime(true) - $started);
        }
    }

    public function testAClosedPortIsATransportError(): void
    {
        $probe = stream_socket_server('tcp://127.0.0.1:0');
        $name = (string) stream_socket_get_name($probe, false);
        fclose($probe);
        $this->expectException(TransportError::class);
        (new CurlTransport(1000, 1000))->send('GET', "http://$name/", [], null);
    }

    public function testRefusesPlainHttpToAnythingButLoopback(): void
    {
        foreach (['http://functions.example.com/provision', 'http://10.0.0.1/provision', 'ftp://127.0.0.1/x', 'file:///etc/passwd'] as $url) {
            try {
                (new CurlTransport())->options('POST', $url, [], '{}');
                $this->fail("accepted $url");
            } catch (TransportError $e) {
                $this->assertStringContainsString('https is required', $e->getMessage());
            }
        }
    }

    public function testSafetyOptions(): void
    {
        $options = (new CurlTransport())->options('POST', 'https://functions.example.com/provision', ['webhook-id' => 'x'], '{}');
        $this->assertTrue($options[CURLOPT_SSL_VERIFYPEER]);
        $this->assertSame(2, $options[CURLOPT_SSL_VERIFYHOST]);
        $this->assertFalse($options[CURLOPT_FOLLOWLOCATION]);
        $this->assertSame(CURLPROTO_HTTPS, $options[CURLOPT_PROTOCOLS]);
        $this->assertSame(CurlTransport::CONNECT_TIMEOUT_MS, $options[CURLOPT_CONNECTTIMEOUT_MS]);
        $this->assertSame(CurlTransport::TOTAL_TIMEOUT_MS, $options[CURLOPT_TIMEOUT_MS]);
        $this->assertContains('webhook-id: x', $options[CURLOPT_HTTPHEADER]);
        $loopback = (new CurlTransport())->options('POST', 'http://127.0.0.1:3000/provision', [], '{}');
        $this->assertSame(CURLPROTO_HTTP, $loopback[CURLOPT_PROTOCOLS]);
    }
}
