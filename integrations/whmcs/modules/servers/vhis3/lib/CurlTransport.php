<?php
// The module's only network code: curl with connect and total timeouts, TLS verification on,
// redirects never followed, https only except to a loopback address (checked again here, so no
// caller can send a signed request over plain http to another host).

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class CurlTransport implements HttpTransport
{
    public const CONNECT_TIMEOUT_MS = 10000;
    /** Above the 30 s an API Gateway HTTP API waits for a function, so its own answer arrives. */
    public const TOTAL_TIMEOUT_MS = 40000;
    public const USER_AGENT = 'vhis3-whmcs/1.0';

    /** @var int */
    private $connectTimeoutMs;
    /** @var int */
    private $totalTimeoutMs;

    public function __construct(int $connectTimeoutMs = self::CONNECT_TIMEOUT_MS, int $totalTimeoutMs = self::TOTAL_TIMEOUT_MS)
    {
        $this->connectTimeoutMs = $connectTimeoutMs;
        $this->totalTimeoutMs = $totalTimeoutMs;
    }

    public function send(string $method, string $url, array $headers, ?string $body): HttpResponse
    {
        if (!function_exists('curl_init')) {
            throw new TransportError('the PHP curl extension is not installed');
        }
        $handle = curl_init();
        if ($handle === false) {
            throw new TransportError('curl could not start');
        }
        try {
            $options = $this->options($method, $url, $headers, $body);
            if (!curl_setopt_array($handle, $options)) {
                throw new TransportError('curl refused its options for ' . $url);
            }
            $answer = curl_exec($handle);
            if ($answer === false) {
                $errno = curl_errno($handle);
                throw new TransportError(
                    'no answer from ' . $url . ': ' . curl_error($handle),
                    $errno === CURLE_OPERATION_TIMEDOUT
                );
            }
            return new HttpResponse((int) curl_getinfo($handle, CURLINFO_RESPONSE_CODE), (string) $answer);
        } finally {
            curl_close($handle);
        }
    }

    /** The curl options of one request (public so that tests can check each safety setting). */
    public function options(string $method, string $url, array $headers, ?string $body): array
    {
        $scheme = strtolower((string) parse_url($url, PHP_URL_SCHEME));
        $host = strtolower((string) parse_url($url, PHP_URL_HOST));
        $loopback = $host === 'localhost' || $host === '[::1]' || $host === '::1'
            || (filter_var($host, FILTER_VALIDATE_IP, FILTER_FLAG_IPV4) !== false && strncmp($host, '127.', 4) === 0);
        if ($scheme !== 'https' && !($scheme === 'http' && $loopback)) {
            throw new TransportError('refusing to send to ' . $url . ': https is required except to a loopback address');
        }
        $lines = [];
        foreach ($headers as $name => $value) {
            $lines[] = $name . ': ' . $value;
        }
        // An empty Expect keeps curl from waiting a second for "100 Continue" on larger bodies.
        $lines[] = 'Expect:';
        $options = [
            CURLOPT_URL => $url,
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_HTTPHEADER => $lines,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HEADER => false,
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_MAXREDIRS => 0,
            CURLOPT_PROTOCOLS => $scheme === 'https' ? CURLPROTO_HTTPS : CURLPROTO_HTTP,
            CURLOPT_SSL_VERIFYPEER => true,
            CURLOPT_SSL_VERIFYHOST => 2,
            CURLOPT_CONNECTTIMEOUT_MS => $this->connectTimeoutMs,
            CURLOPT_TIMEOUT_MS => $this->totalTimeoutMs,
            CURLOPT_NOSIGNAL => true,
            CURLOPT_USERAGENT => self::USER_AGENT,
        ];
        if ($body !== null) {
            $options[CURLOPT_POSTFIELDS] = $body;
        }
        return $options;
    }
}
