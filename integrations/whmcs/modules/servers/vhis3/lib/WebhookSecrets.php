<?php
// Standard Webhooks (https://www.standardwebhooks.com) for both directions: the module signs what
// it sends to the functions with the server record's Password, and usage.php verifies what the
// functions deliver with the Access Hash. HMAC-SHA256 over the raw bytes "id.timestamp.body".

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class WebhookSecrets
{
    private const PREFIX = 'whsec_';
    /** The specification asks for keys of 24 to 64 bytes. */
    private const MIN_KEY_BYTES = 24;
    private const MAX_KEY_BYTES = 64;
    private const BASE64 = '/^(?:[A-Za-z0-9+\/]{4})*(?:[A-Za-z0-9+\/]{2}==|[A-Za-z0-9+\/]{3}=)?$/D';
    /** Accepted distance between webhook-timestamp and now, either way (docs/contract.md §2). */
    public const TOLERANCE_SECONDS = 300;

    /** @var string[] decoded keys */
    private $keys;
    /** @var string[] the entries as configured, for masking */
    private $entries;

    /**
     * @param string[] $keys
     * @param string[] $entries
     */
    private function __construct(array $keys, array $entries)
    {
        $this->keys = $keys;
        $this->entries = $entries;
    }

    /**
     * Parses whitespace-separated `whsec_<base64>` secrets (the prefix is optional, as in the
     * reference library). Errors name $field and the entry's position, never its value.
     */
    public static function parse(string $text, string $field): self
    {
        $entries = preg_split('/\s+/', trim($text), -1, PREG_SPLIT_NO_EMPTY);
        if ($entries === false || count($entries) === 0) {
            throw new ModuleError("$field is empty: it must hold a webhook secret (whsec_…)");
        }
        $keys = [];
        foreach ($entries as $index => $entry) {
            $where = count($entries) === 1 ? 'the secret' : 'secret ' . ($index + 1) . ' of ' . count($entries);
            $encoded = strncmp($entry, self::PREFIX, strlen(self::PREFIX)) === 0 ? substr($entry, strlen(self::PREFIX)) : $entry;
            if (!preg_match(self::BASE64, $encoded)) {
                throw new ModuleError("$field: $where is not 'whsec_' followed by base64");
            }
            $key = (string) base64_decode($encoded, true);
            if (strlen($key) < self::MIN_KEY_BYTES || strlen($key) > self::MAX_KEY_BYTES) {
                throw new ModuleError(
                    "$field: $where decodes to " . strlen($key) . ' bytes; Standard Webhooks keys are '
                    . self::MIN_KEY_BYTES . ' to ' . self::MAX_KEY_BYTES . ' bytes'
                );
            }
            $keys[] = $key;
        }
        return new self($keys, $entries);
    }

    /**
     * The secrets of several records at once, skipping entries that do not parse (one operator's
     * typo must not stop every other record's deliveries). Null when none is usable.
     *
     * @param string[] $texts
     */
    public static function parseAny(array $texts): ?self
    {
        $keys = [];
        $entries = [];
        foreach ($texts as $text) {
            foreach (preg_split('/\s+/', trim((string) $text), -1, PREG_SPLIT_NO_EMPTY) ?: [] as $entry) {
                try {
                    $one = self::parse($entry, 'Access Hash');
                } catch (ModuleError $e) {
                    continue;
                }
                $keys[] = $one->keys[0];
                $entries[] = $entry;
            }
        }
        return count($keys) === 0 ? null : new self($keys, $entries);
    }

    /** The `webhook-signature` value: one `v1,<base64>` per secret, space-separated (rotation). */
    public function sign(string $id, int $timestamp, string $body): string
    {
        $signatures = [];
        foreach ($this->keys as $key) {
            $signatures[] = 'v1,' . self::signature($key, $id, (string) $timestamp, $body);
        }
        return implode(' ', $signatures);
    }

    /**
     * Checks a delivery's headers against the raw body: the timestamp within the tolerance of
     * $now, and any `v1` entry matching any secret. Returns null when it verifies, else why not.
     *
     * @param array<string, string> $headers lower-case names
     */
    public function verify(array $headers, string $body, int $now): ?string
    {
        $id = isset($headers['webhook-id']) ? $headers['webhook-id'] : '';
        $timestamp = isset($headers['webhook-timestamp']) ? $headers['webhook-timestamp'] : '';
        $signatures = isset($headers['webhook-signature']) ? $headers['webhook-signature'] : '';
        if ($id === '' || $timestamp === '' || $signatures === '') {
            return 'missing webhook-id, webhook-timestamp or webhook-signature';
        }
        if (!preg_match('/^\d{1,15}$/D', $timestamp)) {
            return 'webhook-timestamp is not a whole number of seconds';
        }
        $seconds = (int) $timestamp;
        if (abs($now - $seconds) > self::TOLERANCE_SECONDS) {
            return 'webhook-timestamp is more than ' . self::TOLERANCE_SECONDS . ' s from now';
        }
        $matched = false;
        // The number, not the header's text, is signed (as the reference library does).
        foreach ($this->keys as $key) {
            $expected = self::signature($key, $id, (string) $seconds, $body);
            foreach (explode(' ', $signatures) as $entry) {
                if (strncmp($entry, 'v1,', 3) === 0 && hash_equals($expected, substr($entry, 3))) {
                    $matched = true;
                }
            }
        }
        return $matched ? null : 'no webhook signature matches';
    }

    /**
     * Every form in which these secrets could appear in a logged text: as configured, without the
     * prefix, and the decoded key's base64 (what logModuleCall must mask).
     *
     * @return string[]
     */
    public function maskValues(): array
    {
        $values = [];
        foreach ($this->entries as $entry) {
            $values[] = $entry;
            if (strncmp($entry, self::PREFIX, strlen(self::PREFIX)) === 0) {
                $values[] = substr($entry, strlen(self::PREFIX));
            }
        }
        foreach ($this->keys as $key) {
            $values[] = base64_encode($key);
        }
        return array_values(array_unique($values));
    }

    public function count(): int
    {
        return count($this->keys);
    }

    private static function signature(string $key, string $id, string $timestamp, string $body): string
    {
        return base64_encode(hash_hmac('sha256', $id . '.' . $timestamp . '.' . $body, $key, true));
    }
}
