<?php
// One S3 user's usage in the current calendar month (UTC), in the units the module bills:
// GB = 10^9 bytes; storage as GB-months to date = the month's hourly measurements of stored bytes,
// summed, / 10^9, / the hours in the whole month.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class MonthToDate
{
    /** @var int unix seconds, first second of the month */
    public $start;
    /** @var int unix seconds, first second of the next month */
    public $end;
    /** @var int */
    public $downloadedBytes = 0;
    /** @var int */
    public $uploadedBytes = 0;
    /** @var int put + get + list + other */
    public $requests = 0;
    /** @var int the month's usage.storage measurements' bytes, summed (byte-hours) */
    public $storedByteHours = 0;

    public function __construct(int $start, int $end)
    {
        $this->start = $start;
        $this->end = $end;
    }

    /** @return array{0: int, 1: int} the calendar month (UTC) that $now falls in */
    public static function window(int $now): array
    {
        $year = (int) gmdate('Y', $now);
        $month = (int) gmdate('n', $now);
        return [gmmktime(0, 0, 0, $month, 1, $year), gmmktime(0, 0, 0, $month + 1, 1, $year)];
    }

    public function hoursInMonth(): int
    {
        return intdiv($this->end - $this->start, 3600);
    }

    public function downloadedGb(): float
    {
        return $this->downloadedBytes / 1e9;
    }

    public function uploadedGb(): float
    {
        return $this->uploadedBytes / 1e9;
    }

    public function storageGbMonths(): float
    {
        return $this->storedByteHours / 1e9 / $this->hoursInMonth();
    }

    /** `2026-11` */
    public function label(): string
    {
        return gmdate('Y-m', $this->start);
    }
}
