<?php
// Usage messages as the functions send them (docs/contract.md §6), signed with a given secret.

namespace Vhis3Tests;

final class UsageFixtures
{
    public static function collected(string $source, string $periodStart, array $records): string
    {
        return json_encode([
            'type' => 'usage.collected',
            'timestamp' => '2026-11-26T12:05:00.000Z',
            'data' => ['source' => $source, 'periodStart' => $periodStart, 'periodSeconds' => 1800, 'records' => $records],
        ], JSON_UNESCAPED_SLASHES);
    }

    public static function record(string $userId, ?string $email, string $bucket, array $ops, int $uploaded, int $downloaded): array
    {
        return [
            'userId' => $userId,
            'email' => $email,
            'bucket' => $bucket,
            'ops' => array_merge(['put' => 0, 'get' => 0, 'list' => 0, 'other' => 0], $ops),
            'bytes' => ['uploaded' => $uploaded, 'downloaded' => $downloaded],
        ];
    }

    public static function storage(string $userId, ?string $email, string $hour, int $bytes): string
    {
        return json_encode([
            'type' => 'usage.storage',
            'timestamp' => $hour,
            'data' => ['userId' => $userId, 'email' => $email, 'hour' => $hour, 'bytes' => $bytes, 'buckets' => 1],
        ], JSON_UNESCAPED_SLASHES);
    }

    /** Standard Webhooks headers, computed here without the module's code. */
    public static function headers(string $secret, string $id, int $timestamp, string $body): array
    {
        $key = base64_decode(substr($secret, 6));
        return [
            'webhook-id' => $id,
            'webhook-timestamp' => (string) $timestamp,
            'webhook-signature' => 'v1,' . base64_encode(hash_hmac('sha256', "$id.$timestamp.$body", $key, true)),
        ];
    }
}
