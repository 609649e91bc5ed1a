<?php
// One run of a WHMCS action for one service: the moment WHMCS ran it and the webhook-id its
// deliveries carry.
//
// The envelope `timestamp` is that moment (to the millisecond), so suspend and resume apply in the
// order WHMCS ran them however they arrive. The `webhook-id` is derived from the service, the
// action and that moment: the module's own retries within the run resend the same id and body, so
// a delivery that did arrive is answered from the functions' memory instead of running twice (and
// a rotated key whose answer was lost comes back instead of being rotated again). A later run of
// the same action (WHMCS's cron the next day, staff pressing the button again) is a new decision
// with a new moment, so it gets a new id; provision, suspend, resume and terminate converge
// however often they run, and rotate-key rotates again, as asked.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class Run
{
    /** @var int */
    private $serviceId;
    /** @var string */
    private $action;
    /** @var int unix milliseconds */
    private $atMs;

    public function __construct(int $serviceId, string $action, float $now)
    {
        if (!preg_match('/^[a-z][a-z0-9-]*$/D', $action)) {
            throw new \InvalidArgumentException('action must be lower-case letters, digits and hyphens');
        }
        $this->serviceId = $serviceId;
        $this->action = $action;
        $this->atMs = (int) floor($now * 1000);
    }

    /** `whmcs-<serviceid>-<action>-<unix ms>`: the same for every attempt of this run. */
    public function webhookId(): string
    {
        return 'whmcs-' . $this->serviceId . '-' . $this->action . '-' . $this->atMs;
    }

    /** ISO 8601 UTC with milliseconds, e.g. `2026-11-26T12:00:00.123Z`. */
    public function timestamp(): string
    {
        $seconds = intdiv($this->atMs, 1000);
        return gmdate('Y-m-d\TH:i:s', $seconds) . sprintf('.%03dZ', $this->atMs % 1000);
    }

    public function serviceId(): int
    {
        return $this->serviceId;
    }
}
