<?php
// The WHMCS server record, read once per call: where the functions listen (Hostname, Port, Secure;
// a Hostname may carry a path prefix, `host/prefix`), the secret the module signs with (Password)
// and the usage secret usage.php verifies with (Access Hash). integrations/whmcs/README.md, section 2.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class ServerRecord
{
    /** @var string */
    private $baseUrl;
    /** @var bool */
    private $loopback;
    /** @var WebhookSecrets */
    private $signing;
    /** @var string */
    private $accessHash;

    private function __construct(string $baseUrl, bool $loopback, WebhookSecrets $signing, string $accessHash)
    {
        $this->baseUrl = $baseUrl;
        $this->loopback = $loopback;
        $this->signing = $signing;
        $this->accessHash = $accessHash;
    }

    /** Reads serverhostname (or serverip), serverport, serversecure, serverpassword, serveraccesshash. */
    public static function fromParams(array $params): self
    {
        $hostname = trim((string) self::param($params, 'serverhostname'));
        if ($hostname === '') {
            $hostname = trim((string) self::param($params, 'serverip'));
        }
        if ($hostname === '') {
            throw new ModuleError(
                "the server record has no Hostname: set it to where the functions listen (the stack's BaseUrl host, or npm start's address)"
            );
        }
        $secure = self::truthy(self::param($params, 'serversecure'));
        if (preg_match('#^(https?)://#i', $hostname, $scheme)) {
            $secure = strtolower($scheme[1]) === 'https';
            $hostname = substr($hostname, strlen($scheme[0]));
        }
        $slash = strpos($hostname, '/');
        $authority = $slash === false ? $hostname : substr($hostname, 0, $slash);
        $prefix = $slash === false ? '' : rtrim(substr($hostname, $slash), '/');
        if ($prefix !== '' && !preg_match('#^(/[A-Za-z0-9._~!$&\'()*+,;=:@%-]+)+$#D', $prefix)) {
            throw new ModuleError("the server record's Hostname has a path prefix that is not a plain URL path");
        }
        list($host, $hostPort) = self::splitAuthority($authority);
        $port = trim((string) self::param($params, 'serverport'));
        if ($port === '') {
            $port = $hostPort;
        }
        if ($port !== '' && (!preg_match('/^\d{1,5}$/D', $port) || (int) $port < 1 || (int) $port > 65535)) {
            throw new ModuleError("the server record's Port must be a number from 1 to 65535");
        }
        $loopback = self::hostIsLoopback($host);
        if (!$secure && !$loopback) {
            throw new ModuleError(
                "the server record must use https (tick 'Secure'): plain http is allowed only to a loopback address such as 127.0.0.1"
            );
        }
        $scheme = $secure ? 'https' : 'http';
        $default = $secure ? '443' : '80';
        $baseUrl = $scheme . '://' . $host . ($port === '' || $port === $default ? '' : ':' . (int) $port) . $prefix;
        $signing = WebhookSecrets::parse(
            (string) self::param($params, 'serverpassword'),
            "the server record's Password (the functions' webhook secret)"
        );
        return new self($baseUrl, $loopback, $signing, trim((string) self::param($params, 'serveraccesshash')));
    }

    /** `scheme://host[:port][/prefix]`, without a trailing slash. */
    public function baseUrl(): string
    {
        return $this->baseUrl;
    }

    public function url(string $route): string
    {
        return $this->baseUrl . '/' . ltrim($route, '/');
    }

    public function isLoopback(): bool
    {
        return $this->loopback;
    }

    public function signing(): WebhookSecrets
    {
        return $this->signing;
    }

    /** The usage secrets of the Access Hash, or null when it is empty (usage not set up). */
    public function usageSecrets(): ?WebhookSecrets
    {
        if ($this->accessHash === '') {
            return null;
        }
        return WebhookSecrets::parse($this->accessHash, "the server record's Access Hash (the usage webhook secret)");
    }

    /** Strings logModuleCall must mask whatever this record is used for. */
    public function maskValues(): array
    {
        $values = $this->signing->maskValues();
        foreach (preg_split('/\s+/', $this->accessHash, -1, PREG_SPLIT_NO_EMPTY) ?: [] as $entry) {
            $values[] = $entry;
            if (strncmp($entry, 'whsec_', 6) === 0) {
                $values[] = substr($entry, 6);
            }
        }
        return $values;
    }

    /** @return array{0: string, 1: string} host (IPv6 in brackets) and the port written after it */
    private static function splitAuthority(string $authority): array
    {
        if (preg_match('/^\[([0-9A-Fa-f:.]+)\](?::(\d*))?$/D', $authority, $m)) {
            return ['[' . strtolower($m[1]) . ']', isset($m[2]) ? $m[2] : ''];
        }
        if (substr_count($authority, ':') > 1 && filter_var($authority, FILTER_VALIDATE_IP, FILTER_FLAG_IPV6)) {
            return ['[' . strtolower($authority) . ']', ''];
        }
        $port = '';
        $colon = strrpos($authority, ':');
        if ($colon !== false) {
            $port = substr($authority, $colon + 1);
            $authority = substr($authority, 0, $colon);
        }
        $host = strtolower($authority);
        $isIpv4 = filter_var($host, FILTER_VALIDATE_IP, FILTER_FLAG_IPV4) !== false;
        $isName = preg_match('/^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/D', $host) === 1;
        if (!$isIpv4 && !$isName) {
            throw new ModuleError("the server record's Hostname is not a hostname or IP address (optionally followed by /path)");
        }
        return [rtrim($host, '.'), $port];
    }

    private static function hostIsLoopback(string $host): bool
    {
        if ($host === 'localhost' || $host === '[::1]') {
            return true;
        }
        return filter_var($host, FILTER_VALIDATE_IP, FILTER_FLAG_IPV4) !== false && strncmp($host, '127.', 4) === 0;
    }

    private static function truthy($value): bool
    {
        if (is_bool($value)) {
            return $value;
        }
        return in_array(strtolower(trim((string) $value)), ['1', 'on', 'true', 'yes'], true);
    }

    private static function param(array $params, string $name)
    {
        return array_key_exists($name, $params) ? $params[$name] : '';
    }
}
