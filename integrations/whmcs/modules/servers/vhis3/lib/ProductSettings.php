<?php
// The product's Module Settings (ConfigOptions): the plan `provision` applies, which S3 user a
// service gets, what termination does, and the endpoint clients are shown. WHMCS hands the values
// to every call as configoption1..N in the order they are declared here, so that order is fixed.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class ProductSettings
{
    public const TERMINATE_REFUSE = 'refuse';
    public const TERMINATE_DELETE = 'delete';

    /** The gateway's bounds (shared/ostor/validate.ts). */
    private const MAX_OPS_LIMIT = 1000000000;
    private const MAX_BANDWIDTH_LIMIT = 2147483647;
    private const MAX_QUOTA_GB = 9007199254740991;

    /** configoption number => [key, FriendlyName, what it is] */
    private const OPS_OPTIONS = [
        2 => ['default', 'Operations per second: default'],
        3 => ['get', 'Operations per second: GET'],
        4 => ['put', 'Operations per second: PUT'],
        5 => ['list', 'Operations per second: LIST'],
        6 => ['delete', 'Operations per second: DELETE'],
    ];
    public const QUOTA = 1;
    public const BANDWIDTH = 7;
    public const IDENTITY = 8;
    public const TERMINATION = 9;
    public const ENDPOINT = 10;

    /** @var array */
    private $plan;
    /** @var string */
    private $identity;
    /** @var string */
    private $termination;
    /** @var string */
    private $endpoint;

    private function __construct(array $plan, string $identity, string $termination, string $endpoint)
    {
        $this->plan = $plan;
        $this->identity = $identity;
        $this->termination = $termination;
        $this->endpoint = $endpoint;
    }

    /** What vhis3_ConfigOptions returns: the fields, in configoption order. */
    public static function definition(): array
    {
        $fields = [
            'quota_gb' => [
                'FriendlyName' => 'Quota (GB)',
                'Type' => 'text',
                'Size' => '10',
                'Default' => '',
                'Description' => 'Storage quota of the S3 user in whole GB; empty for none',
            ],
        ];
        foreach (self::OPS_OPTIONS as $option) {
            $fields['ops_' . $option[0]] = [
                'FriendlyName' => $option[1],
                'Type' => 'text',
                'Size' => '10',
                'Default' => '',
                'Description' => 'Requests per second (up to two decimals); empty or 0 for unlimited',
            ];
        }
        $fields['bandwidth_out'] = [
            'FriendlyName' => 'Outgoing bandwidth (KB/s)',
            'Type' => 'text',
            'Size' => '10',
            'Default' => '',
            'Description' => 'Download bandwidth limit in whole KB/s; empty or 0 for unlimited',
        ];
        $fields['identity'] = [
            'FriendlyName' => 'S3 user',
            'Type' => 'dropdown',
            'Options' => [
                S3Identity::PER_SERVICE => 'One S3 user per service (client e-mail + service id)',
                S3Identity::PER_CLIENT => "One S3 user per client (the client's e-mail)",
            ],
            'Default' => S3Identity::PER_SERVICE,
            'Description' => 'Chosen when a service is created; an existing service keeps its S3 user',
        ];
        $fields['termination'] = [
            'FriendlyName' => 'On termination',
            'Type' => 'dropdown',
            'Options' => [
                self::TERMINATE_REFUSE => 'Refuse while buckets hold data',
                self::TERMINATE_DELETE => 'Delete everything (every object and bucket)',
            ],
            'Default' => self::TERMINATE_REFUSE,
            'Description' => 'What Terminate does when the S3 user still stores data',
        ];
        $fields['endpoint'] = [
            'FriendlyName' => 'S3 endpoint',
            'Type' => 'text',
            'Size' => '40',
            'Default' => '',
            'Description' => 'The gateway URL clients use with their keys, e.g. https://s3.example.com (shown in the client area)',
        ];
        return $fields;
    }

    /** Reads and checks configoption1..N; a bad value is refused before anything is sent. */
    public static function fromParams(array $params): self
    {
        $quota = self::whole(self::option($params, self::QUOTA), 'Quota (GB)', self::MAX_QUOTA_GB);
        $ops = [];
        foreach (self::OPS_OPTIONS as $number => $option) {
            $ops[$option[0]] = self::opsLimit(self::option($params, $number), $option[1]);
        }
        $bandwidth = self::whole(self::option($params, self::BANDWIDTH), 'Outgoing bandwidth (KB/s)', self::MAX_BANDWIDTH_LIMIT);
        // Every setting is sent, an empty one as null ("none"), so that the gateway ends as the
        // product says whatever the user carried before (ChangePackage, an adopted user).
        $plan = [
            'quotaGb' => $quota,
            'limits' => ['ops' => $ops, 'bandwidth' => ['out' => $bandwidth]],
        ];
        $identity = self::choice(
            self::option($params, self::IDENTITY),
            'S3 user',
            [S3Identity::PER_SERVICE, S3Identity::PER_CLIENT],
            ['per service' => S3Identity::PER_SERVICE, 'per client' => S3Identity::PER_CLIENT]
        );
        $termination = self::choice(
            self::option($params, self::TERMINATION),
            'On termination',
            [self::TERMINATE_REFUSE, self::TERMINATE_DELETE],
            ['delete everything' => self::TERMINATE_DELETE, 'purge' => self::TERMINATE_DELETE, 'refuse' => self::TERMINATE_REFUSE]
        );
        $endpoint = trim(self::option($params, self::ENDPOINT));
        return new self($plan, $identity, $termination, $endpoint);
    }

    /** `data.plan` of provision (docs/contract.md §3). */
    public function plan(): array
    {
        return $this->plan;
    }

    public function identity(): string
    {
        return $this->identity;
    }

    public function purgeOnTerminate(): bool
    {
        return $this->termination === self::TERMINATE_DELETE;
    }

    public function endpoint(): string
    {
        return $this->endpoint;
    }

    /** The quota in whole GB, or null when the product sets none. */
    public function quotaGb(): ?int
    {
        return $this->plan['quotaGb'];
    }

    private static function option(array $params, int $number): string
    {
        $key = 'configoption' . $number;
        return isset($params[$key]) && is_scalar($params[$key]) ? trim((string) $params[$key]) : '';
    }

    private static function whole(string $value, string $name, int $max): ?int
    {
        if ($value === '') {
            return null;
        }
        if (!preg_match('/^\d{1,16}$/D', $value) || (int) $value > $max) {
            throw new ModuleError("the product setting '$name' must be a whole number from 0 to $max, or empty");
        }
        return (int) $value;
    }

    /** @return int|float|null */
    private static function opsLimit(string $value, string $name)
    {
        if ($value === '') {
            return null;
        }
        if (!preg_match('/^\d{1,10}(?:\.\d{1,2})?$/D', $value) || (float) $value > self::MAX_OPS_LIMIT) {
            throw new ModuleError(
                "the product setting '$name' must be a number of requests per second from 0 to " . self::MAX_OPS_LIMIT
                . ' with at most two decimals, or empty'
            );
        }
        return strpos($value, '.') === false ? (int) $value : (float) $value;
    }

    /**
     * A dropdown's value: WHMCS stores the option's key; a label, or a few plain words, are taken
     * too, so a product set up by hand or through the API still works. Empty is the default.
     */
    private static function choice(string $value, string $name, array $keys, array $aliases): string
    {
        if ($value === '') {
            return $keys[0];
        }
        $lower = strtolower($value);
        if (in_array($lower, $keys, true)) {
            return $lower;
        }
        foreach (self::definitionOptions($name) as $key => $label) {
            if (strtolower($label) === $lower) {
                return $key;
            }
        }
        foreach ($aliases as $words => $key) {
            if (strpos($lower, $words) !== false) {
                return $key;
            }
        }
        throw new ModuleError("the product setting '$name' has an unknown value; choose one of its options again");
    }

    private static function definitionOptions(string $friendlyName): array
    {
        foreach (self::definition() as $field) {
            if ($field['FriendlyName'] === $friendlyName && isset($field['Options'])) {
                return $field['Options'];
            }
        }
        return [];
    }
}
