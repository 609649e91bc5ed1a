<?php
// WHMCS\UsageBilling as its class pages document it (developers.whmcs.com/classes/whmcs/
// usagebilling/...): the interfaces a MetricProvider implements and the classes it returns.
// Constant values are not documented; the module uses the constants by name only.

namespace WHMCS\UsageBilling\Contracts\Metrics {
    interface ProviderInterface
    {
        /** All metrics supported by provider, keyed by metric system name. */
        public function metrics();

        /** All usage of the provider, keyed by tenant id. */
        public function usage();

        public function tenantUsage($tenant);
    }

    interface UsageInterface
    {
        public function value();
    }

    interface UnitInterface
    {
        const TYPE_CURRENCY = 'currency';
        const TYPE_FLOAT_PRECISION_LOW = 'float_low';
        const TYPE_FLOAT_PRECISION_HIGH = 'float_high';
        const TYPE_INT = 'int';
        const TYPE_MICROTIME = 'microtime';

        public function name();

        public function perUnitName($value = 0);

        public function prefix();

        public function suffix();

        public function type();
    }

    interface MetricInterface
    {
        const TYPE_SNAPSHOT = 'snapshot';
        const TYPE_PERIOD_DAY = 'day';
        const TYPE_PERIOD_MONTH = 'month';

        public function usage();

        public function withUsage(UsageInterface $usage = null);

        public function units();

        public function systemName();

        public function displayName();

        public function type();
    }
}

namespace WHMCS\UsageBilling\Metrics {
    use WHMCS\UsageBilling\Contracts\Metrics\MetricInterface;
    use WHMCS\UsageBilling\Contracts\Metrics\UnitInterface;
    use WHMCS\UsageBilling\Contracts\Metrics\UsageInterface;

    class Metric implements MetricInterface
    {
        private $systemName;
        private $displayName;
        private $type;
        private $units;
        private $usage;

        public function __construct($systemName, $displayName = null, $type = null, UnitInterface $units = null, UsageInterface $usage = null)
        {
            $this->systemName = $systemName;
            $this->displayName = $displayName;
            $this->type = $type;
            $this->units = $units;
            $this->usage = $usage;
        }

        public function usage()
        {
            return $this->usage;
        }

        public function withUsage(UsageInterface $usage = null)
        {
            $copy = clone $this;
            $copy->usage = $usage;
            return $copy;
        }

        public function units()
        {
            return $this->units;
        }

        public function systemName()
        {
            return $this->systemName;
        }

        public function displayName()
        {
            return $this->displayName;
        }

        public function type()
        {
            return $this->type;
        }
    }

    class Usage implements UsageInterface
    {
        private $value;

        public function __construct($value, $collectedAt = null, $startAt = null, $endAt = null)
        {
            $this->value = $value;
        }

        public function value()
        {
            return $this->value;
        }
    }
}

namespace WHMCS\UsageBilling\Metrics\Units {
    use WHMCS\UsageBilling\Contracts\Metrics\UnitInterface;

    abstract class AbstractUnit implements UnitInterface
    {
        private $name;
        private $single;
        private $plural;
        private $prefix;
        private $suffix;

        public function __construct($name, $singlePerUnitName = null, $pluralPerUnitName = null, $prefix = null, $suffix = null)
        {
            $this->name = $name;
            $this->single = $singlePerUnitName;
            $this->plural = $pluralPerUnitName;
            $this->prefix = $prefix;
            $this->suffix = $suffix;
        }

        public function name()
        {
            return $this->name;
        }

        public function perUnitName($value = 0)
        {
            return $value == 1 ? $this->single : $this->plural;
        }

        public function prefix()
        {
            return $this->prefix;
        }

        public function suffix()
        {
            return $this->suffix;
        }
    }

    class WholeNumber extends AbstractUnit
    {
        public function type()
        {
            return self::TYPE_INT;
        }
    }

    class FloatingPoint extends AbstractUnit
    {
        public function type()
        {
            return self::TYPE_FLOAT_PRECISION_HIGH;
        }
    }

    class GigaBytes extends FloatingPoint
    {
        public function __construct($name = 'Gigabytes', $singlePerUnitName = 'GB', $pluralPerUnitName = 'GB', $prefix = null, $suffix = 'GB')
        {
            parent::__construct($name, $singlePerUnitName, $pluralPerUnitName, $prefix, $suffix);
        }
    }
}

namespace WHMCS\Authentication {
    /** WHMCS 8's current actor (developers.whmcs.com/advanced/authentication); tests set who it is. */
    class CurrentUser
    {
        /** @var object|null */
        public static $user = null;
        /** @var object|null an object with `id` and owner() */
        public static $client = null;

        public function user()
        {
            return self::$user;
        }

        public function client()
        {
            return self::$client;
        }
    }
}
