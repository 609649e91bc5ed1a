<?php
// The one place vhis3.php's functions get their collaborators from: curl, the clock, the
// module log, the usage tables. Tests replace the transport, clock and sleep here.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class Module
{
    /** @var HttpTransport|null replaced by tests; null means curl */
    public static $transport = null;
    /** @var callable|null replaced by tests; null means microtime(true) */
    public static $now = null;
    /** @var callable|null replaced by tests; null means usleep */
    public static $sleep = null;

    public static function lifecycle(array $params): Lifecycle
    {
        return new Lifecycle(
            $params,
            self::$transport !== null ? self::$transport : new CurlTransport(),
            new CallLog(),
            self::now(),
            self::$sleep !== null ? self::$sleep : static function (int $ms) {
                usleep($ms * 1000);
            },
            new UsageStore()
        );
    }

    public static function metricProvider(array $params): MetricProvider
    {
        $now = self::now();
        return new MetricProvider($params, new UsageStore(), static function () use ($now) {
            return (int) floor($now());
        });
    }

    public static function usageReceiver(): UsageReceiver
    {
        return new UsageReceiver(new UsageStore(), new CallLog());
    }

    private static function now(): callable
    {
        return self::$now !== null ? self::$now : static function () {
            return microtime(true);
        };
    }
}
