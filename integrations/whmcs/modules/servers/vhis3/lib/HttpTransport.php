<?php
// How the module sends one HTTP request. CurlTransport is the real one; tests put a fake here.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

interface HttpTransport
{
    /**
     * Sends one request and answers whatever status came back (no redirect is followed).
     *
     * @param array<string, string> $headers
     * @throws TransportError when no answer arrived (refused, reset, timed out, TLS failed)
     */
    public function send(string $method, string $url, array $headers, ?string $body): HttpResponse;
}
