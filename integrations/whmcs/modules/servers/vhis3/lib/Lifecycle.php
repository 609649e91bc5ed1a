<?php
// What each WHMCS action does (integrations/whmcs/README.md): CreateAccount → provision, SuspendAccount →
// suspend, UnsuspendAccount → resume, TerminateAccount → terminate, ChangePackage → provision with
// the product's new plan, Rotate key → rotate-key. Every action answers "success" or one sentence
// for staff saying what failed; nothing here lets a PHP error or a secret reach WHMCS.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

use WHMCS\Database\Capsule;

final class Lifecycle
{
    /** @var array */
    private $params;
    /** @var HttpTransport */
    private $transport;
    /** @var CallLog */
    private $log;
    /** @var callable(): float */
    private $now;
    /** @var callable(int): void */
    private $sleep;
    /** @var UsageStore */
    private $usage;
    /** @var ServiceRecord */
    private $service;

    public function __construct(array $params, HttpTransport $transport, CallLog $log, callable $now, callable $sleep, UsageStore $usage)
    {
        $this->params = $params;
        $this->transport = $transport;
        $this->log = $log;
        $this->now = $now;
        $this->sleep = $sleep;
        $this->usage = $usage;
        $this->service = new ServiceRecord($params);
        $log->addSecrets([$this->service->secretKey()]);
    }

    public function create(): string
    {
        return $this->attempt('CreateAccount', 'Create', function () {
            $settings = ProductSettings::fromParams($this->params);
            $client = $this->client();
            // An e-mail already kept on the service is the S3 user's for good: a repeated Create
            // (or one after the client changed their e-mail) reaches the same user.
            $email = $this->service->email();
            if ($email === null) {
                $email = S3Identity::derive($this->service->clientEmail(), $this->service->serviceId(), $settings->identity());
            }
            $answer = $client->send('provision', $this->run('create'), ['email' => $email, 'plan' => $settings->plan()], 'CreateAccount');
            $pair = $this->chooseKey($answer, $this->service->accessKeyId());
            if ($pair === null) {
                throw new ModuleError("the functions' answer holds no key pair for $email");
            }
            $this->keep($email, $pair);
        });
    }

    public function suspend(): string
    {
        return $this->attempt('SuspendAccount', 'Suspend', function () {
            $this->changeState('suspend', 'disabled');
        });
    }

    public function unsuspend(): string
    {
        return $this->attempt('UnsuspendAccount', 'Unsuspend', function () {
            $this->changeState('resume', 'enabled');
        });
    }

    public function terminate(): string
    {
        return $this->attempt('TerminateAccount', 'Terminate', function () {
            $settings = ProductSettings::fromParams($this->params);
            $email = $this->service->requireEmail();
            $others = $this->otherServicesOf($email);
            if (count($others) > 0) {
                // One S3 user per client: the user is the other services' storage too.
                $this->log->record(
                    'TerminateAccount',
                    "terminate $email",
                    'not sent: service(s) #' . implode(', #', $others) . ' still use this S3 user',
                    ''
                );
                return;
            }
            $client = $this->client();
            $answer = $client->send(
                'terminate',
                $this->run('terminate'),
                ['email' => $email, 'purge' => $settings->purgeOnTerminate()],
                'TerminateAccount'
            );
            $state = isset($answer['state']) ? $answer['state'] : '';
            if ($state !== 'deleted' && $state !== 'absent') {
                throw new ModuleError("the functions answered state '" . (is_string($state) ? $state : '?') . "' instead of deleted");
            }
            $this->service->forgetKeys();
        });
    }

    public function changePackage(): string
    {
        return $this->attempt('ChangePackage', 'Change package', function () {
            $settings = ProductSettings::fromParams($this->params);
            $email = $this->service->requireEmail();
            $client = $this->client();
            $answer = $client->send('provision', $this->run('change-package'), ['email' => $email, 'plan' => $settings->plan()], 'ChangePackage');
            // The user is normally adopted with the keys WHMCS holds; if it had to be made afresh
            // (deleted on the gateway meanwhile), the keys WHMCS holds are dead: keep the new ones.
            $kept = $this->service->accessKeyId();
            $pair = $this->chooseKey($answer, $kept);
            if ($pair !== null && $pair['accessKeyId'] !== $kept) {
                $this->keep($email, $pair);
            }
        });
    }

    public function rotateKey(): string
    {
        return $this->attempt('RotateKey', 'Rotate key', function () {
            if (Viewer::inClientArea() && !Viewer::ownsService($this->params)) {
                throw new ModuleError('only the account owner can rotate the key of this service');
            }
            $email = $this->service->requireEmail();
            $client = $this->client();
            $answer = $client->send('rotate-key', $this->run('rotate-key'), ['email' => $email], 'RotateKey');
            $id = isset($answer['accessKeyId']) ? $answer['accessKeyId'] : null;
            $secret = isset($answer['secretAccessKey']) ? $answer['secretAccessKey'] : null;
            if (!is_string($id) || !is_string($secret) || $id === '' || $secret === '') {
                throw new ModuleError("the functions' answer holds no new key pair");
            }
            $this->keep($email, ['accessKeyId' => $id, 'secretAccessKey' => $secret]);
        });
    }

    /** @return array{success: bool, error: string} */
    public function testConnection(): array
    {
        try {
            // Both secrets are checked before anything is sent.
            $server = ServerRecord::fromParams($this->params);
            $usageSecrets = $server->usageSecrets();
            if ($usageSecrets !== null) {
                $this->log->addSecrets($usageSecrets->maskValues());
            }
            $client = $this->client();
            $health = $client->health('TestConnection');
            if ($health->status !== 200) {
                throw new ModuleError(
                    'GET /healthz answered HTTP ' . $health->status . ' instead of 200: the functions are not ready there'
                    . ' (is the Hostname, with its path prefix, where they listen?)'
                );
            }
            foreach (['provision', 'suspend', 'resume', 'terminate', 'rotate-key'] as $route) {
                $response = $client->probe($route, new Run(0, 'test-' . $route, ($this->now)()), 'TestConnection');
                if ($response->status === 400) {
                    continue;
                }
                if ($response->status >= 200 && $response->status < 300) {
                    throw new ModuleError("/$route accepted an envelope without an e-mail: these are not the vhi-s3-billing functions");
                }
                throw FunctionsError::fromResponse($response, $server->url($route));
            }
            return ['success' => true, 'error' => ''];
        } catch (ModuleError $e) {
            return ['success' => false, 'error' => 'Test connection failed: ' . $e->getMessage()];
        } catch (\Throwable $e) {
            return ['success' => false, 'error' => 'Test connection failed: ' . $this->unexpected('TestConnection', $e)];
        }
    }

    /** The client area's variables (templates/clientarea.tpl). */
    public function clientArea(): array
    {
        try {
            $settings = ProductSettings::fromParams($this->params);
            $email = $this->service->email();
            $owner = Viewer::ownsService($this->params);
            $month = $this->monthToDate($email);
            return [
                'templatefile' => 'templates/clientarea',
                'vars' => [
                    'vhis3' => [
                        'endpoint' => $settings->endpoint(),
                        'user' => $email === null ? '' : $email,
                        'accessKeyId' => $this->service->accessKeyId(),
                        'isOwner' => $owner,
                        'secretKey' => $owner ? $this->service->secretKey() : '',
                        'month' => $month->label(),
                        'downloadedGb' => self::decimal($month->downloadedGb(), 3),
                        'uploadedGb' => self::decimal($month->uploadedGb(), 3),
                        'requests' => number_format($month->requests),
                        'storageGbMonths' => self::decimal($month->storageGbMonths(), 4),
                    ],
                ],
            ];
        } catch (\Throwable $e) {
            return [
                'templatefile' => 'templates/error',
                'vars' => ['vhis3Error' => 'The storage details cannot be shown right now.'],
            ];
        }
    }

    /** Staff's view on the service's Products/Services tab. */
    public function adminServicesTabFields(): array
    {
        try {
            $email = $this->service->email();
            $month = $this->monthToDate($email);
            $identity = ProductSettings::fromParams($this->params)->identity() === S3Identity::PER_CLIENT
                ? 'one user per client'
                : 'one user per service';
            return [
                'S3 user' => $email === null
                    ? 'none yet (run Create)'
                    : htmlspecialchars($email, ENT_QUOTES, 'UTF-8') . ' <small>(' . $identity . ' for new services)</small>',
                'S3 access key ID' => htmlspecialchars($this->service->accessKeyId(), ENT_QUOTES, 'UTF-8'),
                'S3 usage ' . $month->label() => htmlspecialchars(
                    self::decimal($month->downloadedGb(), 3) . ' GB downloaded, '
                    . self::decimal($month->uploadedGb(), 3) . ' GB uploaded, '
                    . number_format($month->requests) . ' requests, '
                    . self::decimal($month->storageGbMonths(), 4) . ' GB-months stored (month to date, UTC)',
                    ENT_QUOTES,
                    'UTF-8'
                ),
            ];
        } catch (\Throwable $e) {
            return ['S3 user' => 'details unavailable: ' . htmlspecialchars($this->unexpected('AdminServicesTabFields', $e), ENT_QUOTES, 'UTF-8')];
        }
    }

    /**
     * UsageUpdate (daily, per server): diskusage = the latest measured stored bytes, bwusage = the
     * month's downloaded bytes, both in MB (10^6 bytes); disklimit = the product's quota in MB.
     */
    public function usageUpdate(): string
    {
        try {
            $serverId = isset($this->params['serverid']) ? (int) $this->params['serverid'] : 0;
            if ($serverId <= 0) {
                return 'UsageUpdate: WHMCS passed no server id';
            }
            $users = $this->usage->serviceUsers($serverId);
            if (count($users) === 0) {
                return 'success';
            }
            $emails = array_values(array_unique($users));
            $months = $this->usage->monthToDate($emails, (int) floor(($this->now)()));
            $stored = $this->usage->latestStoredBytes($emails);
            $quotas = $this->quotasOf(array_keys($users));
            foreach ($users as $serviceId => $email) {
                $values = [
                    'diskusage' => isset($stored[$email]) ? (int) round($stored[$email] / 1e6) : 0,
                    'bwusage' => (int) round($months[$email]->downloadedBytes / 1e6),
                    'lastupdate' => Capsule::raw('CURRENT_TIMESTAMP'),
                ];
                if (isset($quotas[$serviceId])) {
                    $values['disklimit'] = $quotas[$serviceId] * 1000;
                }
                Capsule::table('tblhosting')->where('id', $serviceId)->update($values);
            }
            return 'success';
        } catch (\Throwable $e) {
            return 'UsageUpdate failed: ' . $this->unexpected('UsageUpdate', $e);
        }
    }

    // ---------------------------------------------------------------------------------------

    private function changeState(string $type, string $wanted): void
    {
        $email = $this->service->requireEmail();
        $client = $this->client();
        $answer = $client->send($type, $this->run($type), ['email' => $email], $type === 'suspend' ? 'SuspendAccount' : 'UnsuspendAccount');
        $state = isset($answer['state']) ? $answer['state'] : '';
        if ($state !== $wanted) {
            // Skipped: a later decision for this S3 user was applied first (client-wide users, or
            // a clock running behind). Staff must know the gateway did not follow this one.
            throw new ModuleError(
                "the S3 user stays " . (is_string($state) ? $state : '?') . ': a later '
                . ($wanted === 'disabled' ? 'unsuspend' : 'suspend') . ' of this S3 user was already applied'
            );
        }
    }

    private function client(): FunctionsClient
    {
        return new FunctionsClient(ServerRecord::fromParams($this->params), $this->transport, $this->log, $this->now, $this->sleep);
    }

    private function run(string $action): Run
    {
        return new Run($this->service->serviceId(), $action, ($this->now)());
    }

    /** The pair WHMCS already holds when the answer still has it, else the first. */
    private function chooseKey(array $answer, string $kept): ?array
    {
        $pairs = isset($answer['accessKeys']) && is_array($answer['accessKeys']) ? $answer['accessKeys'] : [];
        $valid = [];
        foreach ($pairs as $pair) {
            if (is_array($pair) && isset($pair['accessKeyId'], $pair['secretAccessKey'])
                && is_string($pair['accessKeyId']) && is_string($pair['secretAccessKey'])) {
                $valid[] = $pair;
            }
        }
        foreach ($valid as $pair) {
            if ($kept !== '' && $pair['accessKeyId'] === $kept) {
                return $pair;
            }
        }
        return count($valid) > 0 ? $valid[0] : null;
    }

    private function keep(string $email, array $pair): void
    {
        try {
            $this->service->saveUser($email, $pair['accessKeyId'], $pair['secretAccessKey']);
        } catch (ModuleError $e) {
            throw new ModuleError(
                "the S3 user $email is ready on the gateway but " . $e->getMessage()
                . '; run the action again to save its keys (it reaches the same user)'
            );
        }
    }

    /**
     * Other services (Active or Suspended, of this module) whose S3 user is $email: with one user
     * per client, terminating one service must not delete the others' storage.
     *
     * @return int[]
     */
    private function otherServicesOf(string $email): array
    {
        try {
            $rows = $this->servicesSharing($email);
        } catch (\Throwable $e) {
            // An address derived per service cannot be shared; any other might be, and deleting
            // another service's storage on a guess is worse than refusing.
            if (strpos($email, '+whmcs-' . $this->service->serviceId() . '@') !== false) {
                return [];
            }
            throw new ModuleError('the services sharing this S3 user could not be looked up (' . get_class($e) . '); nothing was deleted');
        }
        $ids = [];
        foreach ($rows as $row) {
            $ids[] = (int) $row->id;
        }
        return $ids;
    }

    private function servicesSharing(string $email)
    {
        return Capsule::table('tblhosting')
            ->join('tblproducts', 'tblproducts.id', '=', 'tblhosting.packageid')
            ->where('tblproducts.servertype', 'vhis3')
            ->where('tblhosting.username', $email)
            ->where('tblhosting.id', '!=', $this->service->serviceId())
            ->whereIn('tblhosting.domainstatus', ['Active', 'Suspended'])
            ->get(['tblhosting.id']);
    }

    /** @return array<int, int> serviceId => quota in GB, for services whose product sets one */
    private function quotasOf(array $serviceIds): array
    {
        $quotas = [];
        $rows = Capsule::table('tblhosting')
            ->join('tblproducts', 'tblproducts.id', '=', 'tblhosting.packageid')
            ->whereIn('tblhosting.id', $serviceIds)
            ->get(['tblhosting.id', 'tblproducts.configoption' . ProductSettings::QUOTA . ' as quota']);
        foreach ($rows as $row) {
            $quota = trim((string) $row->quota);
            if (preg_match('/^\d{1,9}$/D', $quota)) {
                $quotas[(int) $row->id] = (int) $quota;
            }
        }
        return $quotas;
    }

    /** This month's usage so far; zero when there is none, or when it cannot be read (the page still shows the keys). */
    private function monthToDate(?string $email): MonthToDate
    {
        $now = (int) floor(($this->now)());
        if ($email !== null) {
            try {
                return $this->usage->monthToDate([$email], $now)[$email];
            } catch (\Throwable $e) {
                $this->unexpected('usage', $e);
            }
        }
        $window = MonthToDate::window($now);
        return new MonthToDate($window[0], $window[1]);
    }

    /** Runs an action; "success", or "<Action> failed: <what failed>". */
    private function attempt(string $function, string $label, callable $action): string
    {
        try {
            $action();
            return 'success';
        } catch (ModuleError $e) {
            return "$label failed: " . $e->getMessage();
        } catch (\Throwable $e) {
            return "$label failed: " . $this->unexpected($function, $e);
        }
    }

    /** A PHP error, recorded in the module log and summarised for staff without its details. */
    private function unexpected(string $function, \Throwable $e): string
    {
        $this->log->record($function, 'unexpected error', get_class($e) . ': ' . $e->getMessage() . ' at ' . basename($e->getFile()) . ':' . $e->getLine(), '');
        return 'an unexpected ' . get_class($e) . ' in the vhis3 module (details in the module log)';
    }

    private static function decimal(float $value, int $places): string
    {
        return number_format($value, $places, '.', ',');
    }
}
