<?php
// The functions' end of the wire for unit tests: records every request and answers from a script
// (a queue of answers, or a function of the request).

namespace Vhis3Tests;

use WHMCS\Module\Server\Vhis3\HttpResponse;
use WHMCS\Module\Server\Vhis3\HttpTransport;
use WHMCS\Module\Server\Vhis3\TransportError;

final class FakeTransport implements HttpTransport
{
    /** @var array[] method, url, headers, body, json (decoded body) */
    public $requests = [];
    /** @var array queued HttpResponse or TransportError */
    private $queue = [];
    /** @var callable|null (array $request): HttpResponse */
    public $responder = null;

    public function queue(...$answers): void
    {
        foreach ($answers as $answer) {
            $this->queue[] = $answer;
        }
    }

    public function send(string $method, string $url, array $headers, ?string $body): HttpResponse
    {
        $request = [
            'method' => $method,
            'url' => $url,
            'headers' => $headers,
            'body' => $body,
            'json' => $body === null ? null : json_decode($body, true),
        ];
        $this->requests[] = $request;
        if (count($this->queue) > 0) {
            $answer = array_shift($this->queue);
        } elseif ($this->responder !== null) {
            $answer = ($this->responder)($request);
        } else {
            throw new \LogicException("no answer scripted for $method $url");
        }
        if ($answer instanceof TransportError) {
            throw $answer;
        }
        return $answer;
    }

    /** @return array[] the POSTs only */
    public function posts(): array
    {
        return array_values(array_filter($this->requests, static function ($r) {
            return $r['method'] === 'POST';
        }));
    }

    public static function json(int $status, array $body): HttpResponse
    {
        return new HttpResponse($status, json_encode($body, JSON_UNESCAPED_SLASHES));
    }

    public static function error(int $status, string $code, string $message, string $reason = '', array $details = []): HttpResponse
    {
        $error = ['code' => $code, 'message' => $message];
        if ($reason !== '') {
            $error['reason'] = $reason;
        }
        if ($details !== []) {
            $error['details'] = $details;
        }
        return self::json($status, ['error' => $error]);
    }
}
