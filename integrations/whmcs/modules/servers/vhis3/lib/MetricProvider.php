<?php
// Usage billing (WHMCS 7.9+): the four metrics of integrations/whmcs/README.md (section 5) per service, keyed by the service's
// Username (the S3 user's e-mail), month-to-date from what usage.php stored. All four are
// TYPE_PERIOD_MONTH: WHMCS keeps one value per calendar month and overwrites it on every
// collection, so each value is the month's total so far, never a delta.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

use WHMCS\UsageBilling\Contracts\Metrics\MetricInterface;
use WHMCS\UsageBilling\Contracts\Metrics\ProviderInterface;
use WHMCS\UsageBilling\Metrics\Metric;
use WHMCS\UsageBilling\Metrics\Units\FloatingPoint;
use WHMCS\UsageBilling\Metrics\Units\GigaBytes;
use WHMCS\UsageBilling\Metrics\Units\WholeNumber;
use WHMCS\UsageBilling\Metrics\Usage;

final class MetricProvider implements ProviderInterface
{
    public const DOWNLOADED = 's3_downloaded_gb';
    public const UPLOADED = 's3_uploaded_gb';
    public const REQUESTS = 's3_requests';
    public const STORAGE = 's3_storage_gb';

    /** @var array */
    private $params;
    /** @var UsageStore */
    private $store;
    /** @var callable(): int */
    private $now;

    public function __construct(array $params, ?UsageStore $store = null, ?callable $now = null)
    {
        $this->params = $params;
        $this->store = $store !== null ? $store : new UsageStore();
        $this->now = $now !== null ? $now : static function () {
            return time();
        };
    }

    /** Keyed by system name; the same list for every server (WHMCS asks in product contexts too). */
    public function metrics()
    {
        return [
            self::DOWNLOADED => new Metric(
                self::DOWNLOADED,
                'S3 downloaded (GB)',
                MetricInterface::TYPE_PERIOD_MONTH,
                new GigaBytes()
            ),
            self::UPLOADED => new Metric(
                self::UPLOADED,
                'S3 uploaded (GB)',
                MetricInterface::TYPE_PERIOD_MONTH,
                new GigaBytes()
            ),
            self::REQUESTS => new Metric(
                self::REQUESTS,
                'S3 requests',
                MetricInterface::TYPE_PERIOD_MONTH,
                new WholeNumber('Requests', 'Request', 'Requests')
            ),
            self::STORAGE => new Metric(
                self::STORAGE,
                'S3 storage (GB-months)',
                MetricInterface::TYPE_PERIOD_MONTH,
                new FloatingPoint('GB-months', 'GB-month', 'GB-months')
            ),
        ];
    }

    /**
     * Keyed by Username: every service of this server with an S3 user (at zero when it has no
     * usage). Without a server (or WHMCS's tblhosting), every S3 user with usage this month.
     */
    public function usage()
    {
        $serverId = isset($this->params['serverid']) ? (int) $this->params['serverid'] : 0;
        $emails = null;
        if ($serverId > 0 && $this->store->hasServices()) {
            $emails = array_values(array_unique($this->store->serviceUsers($serverId)));
        }
        $usage = [];
        foreach ($this->store->monthToDate($emails, ($this->now)()) as $email => $totals) {
            $usage[$email] = $this->withUsage($totals);
        }
        return $usage;
    }

    public function tenantUsage($tenant)
    {
        $tenant = (string) $tenant;
        $totals = $this->store->monthToDate([$tenant], ($this->now)());
        return $this->withUsage($totals[$tenant]);
    }

    /** @return MetricInterface[] */
    private function withUsage(MonthToDate $totals): array
    {
        $values = [
            self::DOWNLOADED => $totals->downloadedGb(),
            self::UPLOADED => $totals->uploadedGb(),
            self::REQUESTS => $totals->requests,
            self::STORAGE => $totals->storageGbMonths(),
        ];
        $metrics = [];
        foreach ($this->metrics() as $name => $metric) {
            $metrics[] = $metric->withUsage(new Usage($values[$name]));
        }
        return $metrics;
    }
}
