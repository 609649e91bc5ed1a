<?php
// Which e-mail a service's S3 user gets. It is chosen once, at CreateAccount, and kept in the
// service's Username; nothing here runs again for a service that already has one.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class S3Identity
{
    /** One S3 user per WHMCS service (the default). */
    public const PER_SERVICE = 'service';
    /** One S3 user per client, keyed by the client's e-mail (the vendor's scripts' way). */
    public const PER_CLIENT = 'client';

    /**
     * The S3 user's e-mail for a new service.
     *
     * Per service it is the client's address plus-addressed with the service id,
     * `local+whmcs-<serviceid>@domain`: mail still reaches the client's mailbox, and two services
     * never share an address because the tag ends with the service id (unique in a WHMCS
     * installation). A local part too long for the tag is shortened before it (the tag is kept
     * whole: it is what makes the address unique); one the gateway would refuse (quoted, non-ASCII)
     * is replaced by `whmcs-<serviceid>`.
     */
    public static function derive(string $clientEmail, int $serviceId, string $mode): string
    {
        $clientEmail = trim($clientEmail);
        if ($mode === self::PER_CLIENT) {
            $problem = EmailAddress::problem($clientEmail);
            if ($problem !== null) {
                throw new ModuleError(
                    "the client's e-mail address cannot be an S3 user's e-mail ($problem); "
                    . "correct it, or use the product setting 'S3 user' = one user per service"
                );
            }
            return $clientEmail;
        }
        if ($serviceId <= 0) {
            throw new ModuleError('WHMCS passed no service id, so no S3 user e-mail can be derived');
        }
        $at = strrpos($clientEmail, '@');
        if ($at === false) {
            throw new ModuleError("the client's e-mail address has no '@', so no S3 user e-mail can be derived from it");
        }
        $local = substr($clientEmail, 0, $at);
        $domain = substr($clientEmail, $at + 1);
        if (EmailAddress::domainProblem($domain) !== null) {
            throw new ModuleError(
                "the domain of the client's e-mail address is not a plain hostname, so no S3 user e-mail can be derived from it"
            );
        }
        $tag = '+whmcs-' . $serviceId;
        $room = min(EmailAddress::MAX_LOCAL_PART_LENGTH, EmailAddress::MAX_LENGTH - 1 - strlen($domain));
        $base = EmailAddress::localPartProblem($local) === null ? $local : '';
        if ($base !== '' && strlen($base) + strlen($tag) > $room) {
            $base = substr($base, 0, max(0, $room - strlen($tag)));
        }
        $candidate = $base === '' ? 'whmcs-' . $serviceId : $base . $tag;
        if (strlen($candidate) > $room) {
            throw new ModuleError(
                "the domain of the client's e-mail address is too long to leave room for an S3 user e-mail"
            );
        }
        $email = $candidate . '@' . $domain;
        $problem = EmailAddress::problem($email);
        if ($problem !== null) {
            throw new ModuleError("no valid S3 user e-mail can be derived from the client's e-mail address ($problem)");
        }
        return $email;
    }
}
