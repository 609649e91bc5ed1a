<?php
// Who is looking at the client area: the secret key is shown only to the service's owner, not to
// other users the client invited (WHMCS 8's users) or contacts (WHMCS 7's sub-accounts).

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class Viewer
{
    /** True when the person viewing is the owner of the client the service belongs to. */
    public static function ownsService(array $params): bool
    {
        $clientId = isset($params['userid']) ? (int) $params['userid'] : 0;
        if ($clientId <= 0) {
            return false;
        }
        if (class_exists('WHMCS\\Authentication\\CurrentUser')) {
            // WHMCS 8+: a user may manage several clients; only the client's owner sees the secret.
            $current = new \WHMCS\Authentication\CurrentUser();
            $user = $current->user();
            $client = $current->client();
            if ($user === null || $client === null || (int) $client->id !== $clientId) {
                return false;
            }
            $owner = $client->owner();
            return $owner !== null && (int) $owner->id === (int) $user->id;
        }
        // WHMCS 7: the client's own login, not a contact's (a contact's session carries `cid`).
        return isset($_SESSION['uid']) && (int) $_SESSION['uid'] === $clientId && empty($_SESSION['cid']);
    }

    /** True in the client area (WHMCS defines CLIENTAREA there), false in the admin area or cron. */
    public static function inClientArea(): bool
    {
        return defined('CLIENTAREA') && !defined('ADMINAREA');
    }
}
