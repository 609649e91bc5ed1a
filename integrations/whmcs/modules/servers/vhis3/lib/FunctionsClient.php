<?php
// Signed calls to the functions (docs/contract.md §2 and §4): one envelope per run, retried within the run
// with the same webhook-id and body when no answer arrived or the answer says "try again", each
// attempt signed afresh and written to the module log with its secrets masked.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class FunctionsClient
{
    public const ATTEMPTS = 3;
    /** Pause before the 2nd and 3rd attempt. */
    public const BACKOFF_MS = [1000, 3000];

    /** @var ServerRecord */
    private $server;
    /** @var HttpTransport */
    private $transport;
    /** @var CallLog */
    private $log;
    /** @var callable(): float */
    private $now;
    /** @var callable(int): void */
    private $sleep;

    public function __construct(ServerRecord $server, HttpTransport $transport, CallLog $log, callable $now, callable $sleep)
    {
        $this->server = $server;
        $this->transport = $transport;
        $this->log = $log;
        $this->now = $now;
        $this->sleep = $sleep;
        $log->addSecrets($server->maskValues());
    }

    /**
     * Sends `{type: $type, timestamp: <run's moment>, data: $data}` to /$type and answers the
     * success body; throws FunctionsError for a refusal, ModuleError when no answer came.
     */
    public function send(string $type, Run $run, array $data, string $action): array
    {
        $body = self::envelope($type, $run->timestamp(), $data);
        $url = $this->server->url($type);
        $id = $run->webhookId();
        $response = null;
        for ($attempt = 1; $attempt <= self::ATTEMPTS; $attempt++) {
            if ($attempt > 1) {
                ($this->sleep)(self::BACKOFF_MS[$attempt - 2]);
            }
            try {
                $response = $this->post($url, $id, $body, $action);
            } catch (TransportError $e) {
                if ($attempt < self::ATTEMPTS) {
                    continue;
                }
                throw new ModuleError(
                    'no answer from the functions (' . $e->getMessage() . ') after ' . self::ATTEMPTS . ' attempts'
                    . ($e->timedOut ? '; the action may still have been carried out: running it again is safe' : '')
                );
            }
            if (!self::worthRetrying($response) || $attempt === self::ATTEMPTS) {
                break;
            }
        }
        if ($response->status >= 200 && $response->status < 300) {
            $json = $response->json();
            if ($json === null) {
                throw new ModuleError("$url answered HTTP {$response->status} with a body that is not JSON");
            }
            return $json;
        }
        throw FunctionsError::fromResponse($response, $url);
    }

    /** GET /healthz: 200 when the functions are deployed and ready. */
    public function health(string $action): HttpResponse
    {
        $url = $this->server->url('healthz');
        try {
            $response = $this->transport->send('GET', $url, ['accept' => 'application/json'], null);
        } catch (TransportError $e) {
            $this->log->record($action, "GET $url", 'no answer: ' . $e->getMessage(), '');
            throw new ModuleError('the functions are not reachable: ' . $e->getMessage());
        }
        $this->log->record($action, "GET $url", 'HTTP ' . $response->status . "\n\n" . $response->body, '');
        return $response;
    }

    /**
     * One signed POST of an envelope the functions must refuse as invalid (data without an e-mail):
     * a 400 proves the route exists and accepts the module's signature, and touches nothing.
     */
    public function probe(string $type, Run $run, string $action): HttpResponse
    {
        $body = self::envelope($type, $run->timestamp(), []);
        return $this->post($this->server->url($type), $run->webhookId(), $body, $action);
    }

    private function post(string $url, string $id, string $body, string $action): HttpResponse
    {
        $timestamp = (int) floor(($this->now)());
        $signature = $this->server->signing()->sign($id, $timestamp, $body);
        $signatureParts = [$signature];
        foreach (explode(' ', $signature) as $entry) {
            $signatureParts[] = $entry;
            $signatureParts[] = substr($entry, 3);
        }
        $headers = [
            'content-type' => 'application/json',
            'accept' => 'application/json',
            'webhook-id' => $id,
            'webhook-timestamp' => (string) $timestamp,
            'webhook-signature' => $signature,
        ];
        $request = "POST $url\n";
        foreach ($headers as $name => $value) {
            $request .= "$name: $value\n";
        }
        $request .= "\n" . $body;
        try {
            $response = $this->transport->send('POST', $url, $headers, $body);
        } catch (TransportError $e) {
            $this->log->record($action, $request, 'no answer: ' . $e->getMessage(), '', $signatureParts);
            throw $e;
        }
        $json = $response->json();
        $this->log->record(
            $action,
            $request,
            'HTTP ' . $response->status . "\n\n" . $response->body,
            $json === null ? '' : $json,
            array_merge($signatureParts, self::secretKeysIn($json))
        );
        return $response;
    }

    /** Answers that say "the same delivery may succeed in a moment". */
    private static function worthRetrying(HttpResponse $response): bool
    {
        if (in_array($response->status, [429, 502, 503, 504], true)) {
            return true;
        }
        if ($response->status === 409) {
            $json = $response->json();
            return $json !== null && isset($json['error']['reason']) && $json['error']['reason'] === 'in_progress';
        }
        return false;
    }

    private static function envelope(string $type, string $timestamp, array $data): string
    {
        $encoded = json_encode(
            ['type' => $type, 'timestamp' => $timestamp, 'data' => count($data) === 0 ? new \stdClass() : $data],
            JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE
        );
        if ($encoded === false) {
            throw new ModuleError('the request could not be encoded as JSON: ' . json_last_error_msg());
        }
        return $encoded;
    }

    /** Every `secretAccessKey` value in an answer (provision and rotate-key carry them). */
    public static function secretKeysIn($json): array
    {
        $found = [];
        if (is_array($json)) {
            foreach ($json as $key => $value) {
                if ($key === 'secretAccessKey' && is_string($value)) {
                    $found[] = $value;
                } elseif (is_array($value)) {
                    $found = array_merge($found, self::secretKeysIn($value));
                }
            }
        }
        return $found;
    }
}
