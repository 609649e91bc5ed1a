<?php
// usage.php's logic (integrations/whmcs/README.md, section 4): verify the Standard Webhooks
// signature against the Access Hash of every vhis3 server record (401, nothing stored), check the
// body is a usage message of docs/contract.md §6 (400), store it once by webhook-id, and answer
// 2xx only once it is stored (a redelivery: 2xx, nothing changes). Everything else is a 5xx,
// which the sender retries.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class UsageReceiver
{
    /** @var UsageStore */
    private $store;
    /** @var CallLog */
    private $log;

    public function __construct(UsageStore $store, CallLog $log)
    {
        $this->store = $store;
        $this->log = $log;
    }

    /**
     * @param array<string, string> $headers lower-case names
     * @return array{0: int, 1: array} status and JSON body
     */
    public function handle(string $method, array $headers, string $body, int $now): array
    {
        if ($method !== 'POST') {
            return [405, self::error('invalid_input', 'method: use POST')];
        }
        try {
            $secrets = WebhookSecrets::parseAny($this->store->usageSecrets());
        } catch (\Exception $e) {
            return [500, self::error('internal', 'the server records could not be read')];
        }
        if ($secrets === null) {
            return [500, self::error('configuration', 'no vhis3 server record has a usage webhook secret (whsec_…) in its Access Hash')];
        }
        $id = isset($headers['webhook-id']) ? $headers['webhook-id'] : '';
        $signature = isset($headers['webhook-signature']) ? $headers['webhook-signature'] : '';
        $masks = array_merge($secrets->maskValues(), [$signature], explode(' ', $signature));
        $refusal = $secrets->verify($headers, $body, $now);
        if ($refusal !== null) {
            $this->log->record('usage receiver', self::described($headers, $body), "401: $refusal", '', $masks);
            return [401, self::error('unauthorized', $refusal)];
        }
        if (strlen($id) > UsageStore::MAX_ID_LENGTH || !preg_match('/^[\x21-\x7e]+$/D', $id)) {
            return [400, self::error('invalid_input', 'webhook-id: must be 1 to ' . UsageStore::MAX_ID_LENGTH . ' printable ASCII characters')];
        }
        try {
            $message = UsageMessage::parse($body);
        } catch (\InvalidArgumentException $e) {
            $this->log->record('usage receiver', self::described($headers, $body), '400: ' . $e->getMessage(), '', $masks);
            return [400, self::error('invalid_input', $e->getMessage())];
        }
        try {
            $stored = $this->store->store($id, $message, $now);
        } catch (\Exception $e) {
            $this->log->record('usage receiver', self::described($headers, ''), '500: not stored (' . get_class($e) . ')', '', $masks);
            return [500, self::error('internal', 'the delivery could not be stored; send it again')];
        }
        $this->log->record('usage receiver', self::described($headers, ''), $stored ? '200: stored' : '200: already stored', '', $masks);
        return [200, ['webhookId' => $id, 'stored' => $stored]];
    }

    private static function error(string $code, string $message): array
    {
        return ['error' => ['code' => $code, 'message' => $message]];
    }

    private static function described(array $headers, string $body): string
    {
        $text = '';
        foreach (['webhook-id', 'webhook-timestamp', 'webhook-signature'] as $name) {
            $text .= $name . ': ' . (isset($headers[$name]) ? $headers[$name] : '') . "\n";
        }
        return $body === '' ? $text : $text . "\n" . (strlen($body) > 2000 ? substr($body, 0, 2000) . '…' : $body);
    }
}
