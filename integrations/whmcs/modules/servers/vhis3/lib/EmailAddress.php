<?php
// The e-mail rule of the functions (shared/ostor/validate.ts, emailProblem), so that the module
// refuses what the functions would refuse before it sends anything, with the same reasons.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class EmailAddress
{
    public const MAX_LENGTH = 254;
    public const MAX_LOCAL_PART_LENGTH = 64;
    public const MAX_DOMAIN_LENGTH = 253;

    /** RFC 5322 atext: a dot-atom local part, without quoted strings or comments. */
    private const ATEXT = "/^[A-Za-z0-9!#$%&'*+\\/=?^_`{|}~-]+$/D";
    private const HOST_LABEL = '/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/D';

    /**
     * Why $value is not a plain local@domain address the gateway accepts, or null when it is:
     * printable ASCII only, a dot-atom local part of at most 64 characters, a domain of at least
     * two hostname labels whose last is not all digits, at most 254 characters in all.
     */
    public static function problem($value): ?string
    {
        if (!is_string($value)) {
            return 'must be a string';
        }
        if ($value === '') {
            return 'must not be empty';
        }
        if (strlen($value) > self::MAX_LENGTH) {
            return 'must be at most ' . self::MAX_LENGTH . ' characters';
        }
        if (!preg_match('/^[\x21-\x7e]+$/D', $value)) {
            return 'must be a plain local@domain address (no spaces, control or non-ASCII characters)';
        }
        $at = strrpos($value, '@');
        if ($at === false || strpos($value, '@') !== $at) {
            return 'must be a plain local@domain address';
        }
        $local = substr($value, 0, $at);
        $domain = substr($value, $at + 1);
        if (self::localPartProblem($local) !== null || self::domainProblem($domain) !== null) {
            return 'must be a plain local@domain address';
        }
        return null;
    }

    public static function isValid($value): bool
    {
        return self::problem($value) === null;
    }

    /** Why $local cannot be a local part, or null. */
    public static function localPartProblem(string $local): ?string
    {
        if ($local === '' || strlen($local) > self::MAX_LOCAL_PART_LENGTH) {
            return 'bad length';
        }
        foreach (explode('.', $local) as $atom) {
            if (!preg_match(self::ATEXT, $atom)) {
                return 'not a dot-atom';
            }
        }
        return null;
    }

    /** Why $domain cannot be an address's domain, or null. */
    public static function domainProblem(string $domain): ?string
    {
        if ($domain === '' || strlen($domain) > self::MAX_DOMAIN_LENGTH) {
            return 'bad length';
        }
        $labels = explode('.', $domain);
        if (count($labels) < 2) {
            return 'needs a dot';
        }
        foreach ($labels as $label) {
            if (!preg_match(self::HOST_LABEL, $label)) {
                return 'bad label';
            }
        }
        if (preg_match('/^\d+$/D', $labels[count($labels) - 1])) {
            return 'numeric top-level label';
        }
        return null;
    }
}
