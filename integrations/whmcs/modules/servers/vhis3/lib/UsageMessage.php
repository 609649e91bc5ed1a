<?php
// A usage delivery (docs/contract.md §6) checked and reduced to what billing needs: per gateway user
// and e-mail, the transfer counters of one statistics object (`usage.collected`) or the bytes
// stored in one hour (`usage.storage`). Anything else is refused with the field that is wrong.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class UsageMessage
{
    public const COLLECTED = 'usage.collected';
    public const STORAGE = 'usage.storage';

    private const ISO_UTC = '/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?Z$/D';

    /** @var string */
    public $type;
    /** @var int unix seconds: the statistics period's start, or the storage hour */
    public $periodStart;
    /**
     * One row per (userId, email): downloaded, uploaded and requests for usage.collected,
     * storedBytes for usage.storage.
     *
     * @var array<int, array{userId: string, email: ?string, downloaded: int, uploaded: int, requests: int, storedBytes: int}>
     */
    public $rows;

    private function __construct(string $type, int $periodStart, array $rows)
    {
        $this->type = $type;
        $this->periodStart = $periodStart;
        $this->rows = $rows;
    }

    /** @throws \InvalidArgumentException naming the bad field */
    public static function parse(string $body): self
    {
        // Counters beyond PHP's integers stay text and are then refused, never rounded.
        $message = json_decode($body, true, 32, JSON_BIGINT_AS_STRING);
        if (!is_array($message) || array_keys($message) === range(0, count($message) - 1)) {
            throw new \InvalidArgumentException('body: must be a JSON object');
        }
        $type = self::field($message, 'type', 'type');
        if (!is_string(self::field($message, 'timestamp', 'timestamp'))) {
            throw new \InvalidArgumentException('timestamp: must be a string');
        }
        $data = self::object($message, 'data', 'data');
        if ($type === self::COLLECTED) {
            return self::collected($data);
        }
        if ($type === self::STORAGE) {
            return self::storage($data);
        }
        throw new \InvalidArgumentException('type: must be usage.collected or usage.storage');
    }

    private static function collected(array $data): self
    {
        $source = self::field($data, 'source', 'data.source');
        if (!is_string($source) || $source === '') {
            throw new \InvalidArgumentException('data.source: must be a non-empty string');
        }
        $periodStart = self::instant(self::field($data, 'periodStart', 'data.periodStart'), 'data.periodStart');
        self::count(self::field($data, 'periodSeconds', 'data.periodSeconds'), 'data.periodSeconds');
        $records = self::field($data, 'records', 'data.records');
        if (!is_array($records) || ($records !== [] && array_keys($records) !== range(0, count($records) - 1))) {
            throw new \InvalidArgumentException('data.records: must be an array');
        }
        $rows = [];
        foreach ($records as $index => $record) {
            $at = "data.records[$index]";
            if (!is_array($record)) {
                throw new \InvalidArgumentException("$at: must be an object");
            }
            $userId = self::userId($record, $at);
            $email = self::email($record, $at);
            $ops = self::object($record, 'ops', "$at.ops");
            $bytes = self::object($record, 'bytes', "$at.bytes");
            $requests = 0;
            foreach (['put', 'get', 'list', 'other'] as $name) {
                $requests = self::add($requests, self::count(self::field($ops, $name, "$at.ops.$name"), "$at.ops.$name"), "$at.ops");
            }
            $uploaded = self::count(self::field($bytes, 'uploaded', "$at.bytes.uploaded"), "$at.bytes.uploaded");
            $downloaded = self::count(self::field($bytes, 'downloaded', "$at.bytes.downloaded"), "$at.bytes.downloaded");
            $key = $userId . "\0" . ($email === null ? '' : $email);
            if (!isset($rows[$key])) {
                $rows[$key] = ['userId' => $userId, 'email' => $email, 'downloaded' => 0, 'uploaded' => 0, 'requests' => 0, 'storedBytes' => 0];
            }
            $rows[$key]['downloaded'] = self::add($rows[$key]['downloaded'], $downloaded, $at);
            $rows[$key]['uploaded'] = self::add($rows[$key]['uploaded'], $uploaded, $at);
            $rows[$key]['requests'] = self::add($rows[$key]['requests'], $requests, $at);
        }
        return new self(self::COLLECTED, $periodStart, array_values($rows));
    }

    private static function storage(array $data): self
    {
        $userId = self::userId($data, 'data');
        $email = self::email($data, 'data');
        $hour = self::instant(self::field($data, 'hour', 'data.hour'), 'data.hour');
        $bytes = self::count(self::field($data, 'bytes', 'data.bytes'), 'data.bytes');
        self::count(self::field($data, 'buckets', 'data.buckets'), 'data.buckets');
        $row = ['userId' => $userId, 'email' => $email, 'downloaded' => 0, 'uploaded' => 0, 'requests' => 0, 'storedBytes' => $bytes];
        return new self(self::STORAGE, $hour, [$row]);
    }

    private static function field(array $object, string $name, string $path)
    {
        if (!array_key_exists($name, $object)) {
            throw new \InvalidArgumentException("$path: is required");
        }
        return $object[$name];
    }

    private static function object(array $object, string $name, string $path): array
    {
        $value = self::field($object, $name, $path);
        if (!is_array($value) || ($value !== [] && array_keys($value) === range(0, count($value) - 1))) {
            throw new \InvalidArgumentException("$path: must be an object");
        }
        return $value;
    }

    private static function userId(array $object, string $at): string
    {
        $value = self::field($object, 'userId', "$at.userId");
        if (!is_string($value) || strlen($value) > 64) {
            throw new \InvalidArgumentException("$at.userId: must be a string of at most 64 characters");
        }
        return $value;
    }

    private static function email(array $object, string $at): ?string
    {
        $value = self::field($object, 'email', "$at.email");
        if ($value !== null && (!is_string($value) || strlen($value) > EmailAddress::MAX_LENGTH)) {
            throw new \InvalidArgumentException("$at.email: must be null or a string of at most 254 characters");
        }
        return $value;
    }

    private static function count($value, string $path): int
    {
        if (!is_int($value) || $value < 0) {
            throw new \InvalidArgumentException("$path: must be a whole number from 0 to " . PHP_INT_MAX);
        }
        return $value;
    }

    private static function add(int $a, int $b, string $path): int
    {
        if ($a > PHP_INT_MAX - $b) {
            throw new \InvalidArgumentException("$path: counters add up to more than " . PHP_INT_MAX);
        }
        return $a + $b;
    }

    /** ISO 8601 UTC (`2017-02-01T16:31:54.000Z`) to unix seconds. */
    private static function instant($value, string $path): int
    {
        if (!is_string($value) || !preg_match(self::ISO_UTC, $value, $m)
            || !checkdate((int) $m[2], (int) $m[3], (int) $m[1]) || (int) $m[4] > 23 || (int) $m[5] > 59 || (int) $m[6] > 59) {
            throw new \InvalidArgumentException("$path: must be an ISO 8601 UTC time such as 2026-11-26T17:00:00.000Z");
        }
        return gmmktime((int) $m[4], (int) $m[5], (int) $m[6], (int) $m[2], (int) $m[3], (int) $m[1]);
    }
}
