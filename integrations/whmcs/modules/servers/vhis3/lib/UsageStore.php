<?php
// The module's usage tables in the WHMCS database, through Capsule: each delivery once by its
// webhook-id, its counters per gateway user and e-mail, and the month-to-date totals
// MetricProvider, UsageUpdate and the client area read. The tables are made on first use.
// Only table()/where()/insert()/sum-style queries are used: WHMCS bundles an Illuminate version
// of its own.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

use WHMCS\Database\Capsule;

final class UsageStore
{
    public const DELIVERIES = 'mod_vhis3_deliveries';
    public const USAGE = 'mod_vhis3_usage';
    /** Longest webhook-id kept (an index of 191 utf8mb4 characters fits every MySQL row format). */
    public const MAX_ID_LENGTH = 191;

    /** Creates the tables when they are missing (two first deliveries at once are fine). */
    public function ensureSchema(): void
    {
        $schema = Capsule::schema();
        if (!$schema->hasTable(self::DELIVERIES)) {
            try {
                $schema->create(self::DELIVERIES, function ($table) {
                    $table->string('webhook_id', self::MAX_ID_LENGTH)->primary();
                    $table->string('type', 32);
                    $table->bigInteger('received_at');
                });
            } catch (\Exception $e) {
                if (!$schema->hasTable(self::DELIVERIES)) {
                    throw $e;
                }
            }
        }
        if (!$schema->hasTable(self::USAGE)) {
            try {
                $schema->create(self::USAGE, function ($table) {
                    $table->increments('id');
                    $table->string('webhook_id', self::MAX_ID_LENGTH)->index();
                    $table->string('kind', 16);
                    // Looked up by a hash: an index on 254 utf8mb4 characters would not fit older row formats.
                    $table->char('email_key', 40)->nullable();
                    $table->string('email', 254)->nullable();
                    $table->string('user_id', 64);
                    $table->bigInteger('period_start');
                    $table->bigInteger('downloaded')->default(0);
                    $table->bigInteger('uploaded')->default(0);
                    $table->bigInteger('requests')->default(0);
                    $table->bigInteger('stored_bytes')->default(0);
                    $table->index(['email_key', 'period_start']);
                });
            } catch (\Exception $e) {
                if (!$schema->hasTable(self::USAGE)) {
                    throw $e;
                }
            }
        }
    }

    /**
     * Stores a delivery and its rows in one transaction. False when this webhook-id was stored
     * before (a redelivery): nothing changes.
     */
    public function store(string $webhookId, UsageMessage $message, int $now): bool
    {
        $this->ensureSchema();
        $connection = Capsule::connection();
        return (bool) $connection->transaction(function () use ($webhookId, $message, $now) {
            if (Capsule::table(self::DELIVERIES)->where('webhook_id', $webhookId)->exists()) {
                return false;
            }
            try {
                Capsule::table(self::DELIVERIES)->insert([
                    'webhook_id' => $webhookId,
                    'type' => $message->type,
                    'received_at' => $now,
                ]);
            } catch (\Exception $e) {
                // The same id stored by a concurrent delivery between the check and the insert.
                if (Capsule::table(self::DELIVERIES)->where('webhook_id', $webhookId)->exists()) {
                    return false;
                }
                throw $e;
            }
            $kind = $message->type === UsageMessage::STORAGE ? 'storage' : 'transfer';
            foreach (array_chunk($message->rows, 200) as $chunk) {
                $rows = [];
                foreach ($chunk as $row) {
                    $rows[] = [
                        'webhook_id' => $webhookId,
                        'kind' => $kind,
                        'email_key' => $row['email'] === null ? null : self::key($row['email']),
                        'email' => $row['email'],
                        'user_id' => $row['userId'],
                        'period_start' => $message->periodStart,
                        'downloaded' => $row['downloaded'],
                        'uploaded' => $row['uploaded'],
                        'requests' => $row['requests'],
                        'stored_bytes' => $row['storedBytes'],
                    ];
                }
                Capsule::table(self::USAGE)->insert($rows);
            }
            return true;
        });
    }

    /** How many deliveries are stored (for tests and the admin tab). */
    public function deliveryCount(): int
    {
        return Capsule::schema()->hasTable(self::DELIVERIES) ? (int) Capsule::table(self::DELIVERIES)->count() : 0;
    }

    /**
     * Month-to-date totals for each e-mail (null: every e-mail with usage this month), the month
     * being the calendar month, UTC, that $now falls in.
     *
     * @param string[]|null $emails
     * @return array<string, MonthToDate>
     */
    public function monthToDate(?array $emails, int $now): array
    {
        $month = MonthToDate::window($now);
        $totals = [];
        if ($emails !== null) {
            foreach ($emails as $email) {
                $totals[$email] = new MonthToDate($month[0], $month[1]);
            }
        }
        if (!Capsule::schema()->hasTable(self::USAGE)) {
            return $totals;
        }
        $chunks = $emails === null ? [null] : array_chunk(array_values(array_unique($emails)), 500);
        foreach ($chunks as $chunk) {
            if ($chunk === []) {
                continue;
            }
            $query = Capsule::table(self::USAGE)
                ->selectRaw(
                    'email, kind, sum(downloaded) as downloaded, sum(uploaded) as uploaded, '
                    . 'sum(requests) as requests, sum(stored_bytes) as stored_bytes'
                )
                ->whereNotNull('email_key')
                ->where('period_start', '>=', $month[0])
                ->where('period_start', '<', $month[1]);
            if ($chunk !== null) {
                $query->whereIn('email_key', array_map(static function ($email) {
                    return self::key((string) $email);
                }, $chunk));
            }
            foreach ($query->groupBy('email_key', 'email', 'kind')->get() as $row) {
                $email = (string) $row->email;
                if ($chunk !== null && !in_array($email, $chunk, true)) {
                    continue;
                }
                if (!isset($totals[$email])) {
                    $totals[$email] = new MonthToDate($month[0], $month[1]);
                }
                if ($row->kind === 'storage') {
                    $totals[$email]->storedByteHours += self::integer($row->stored_bytes);
                } else {
                    $totals[$email]->downloadedBytes += self::integer($row->downloaded);
                    $totals[$email]->uploadedBytes += self::integer($row->uploaded);
                    $totals[$email]->requests += self::integer($row->requests);
                }
            }
        }
        return $totals;
    }

    /**
     * The bytes stored in the latest measured hour, per e-mail, for UsageUpdate's disk usage.
     *
     * @param string[] $emails
     * @return array<string, int>
     */
    public function latestStoredBytes(array $emails): array
    {
        $latest = [];
        if (!Capsule::schema()->hasTable(self::USAGE)) {
            return $latest;
        }
        foreach ($emails as $email) {
            $row = Capsule::table(self::USAGE)
                ->where('email_key', self::key($email))
                ->where('email', $email)
                ->where('kind', 'storage')
                ->orderBy('period_start', 'desc')
                ->first();
            if ($row !== null) {
                $latest[$email] = self::integer($row->stored_bytes);
            }
        }
        return $latest;
    }

    /**
     * The whitespace-separated usage secrets of every vhis3 server record (their Access Hash).
     *
     * @return string[]
     */
    public function usageSecrets(): array
    {
        $secrets = [];
        foreach (Capsule::table('tblservers')->where('type', 'vhis3')->get(['accesshash']) as $server) {
            $secrets[] = (string) $server->accesshash;
        }
        return $secrets;
    }

    /** Whether WHMCS's services table is there to ask (it always is inside WHMCS). */
    public function hasServices(): bool
    {
        return Capsule::schema()->hasTable('tblhosting');
    }

    /**
     * The services of a server that have an S3 user, as [serviceId => S3 user e-mail].
     *
     * @return array<int, string>
     */
    public function serviceUsers(int $serverId): array
    {
        $users = [];
        $rows = Capsule::table('tblhosting')->where('server', $serverId)->where('username', '!=', '')->get(['id', 'username']);
        foreach ($rows as $row) {
            if (EmailAddress::isValid((string) $row->username)) {
                $users[(int) $row->id] = (string) $row->username;
            }
        }
        return $users;
    }

    private static function key(string $email): string
    {
        return sha1($email);
    }

    /** SUM() answers an integer, or text on MySQL (DECIMAL). */
    private static function integer($value): int
    {
        return $value === null ? 0 : (int) $value;
    }
}
