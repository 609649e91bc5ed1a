<?php
// The end-to-end tests' way into the module: `php call.php <whmcs root> '<json command>'` runs
// what WHMCS would run, in a fresh PHP process, against the stand-in database VHIS3_STANDIN_DB,
// loading the module from <whmcs root>/modules/servers/vhis3 (where the operator copies it). It
// prints one JSON object: {"result": ..., "log": [masked module log entries]}.
//
// Commands: {"op": "setup"} | {"op": "addServer", "fields": {...}} | {"op": "addProduct",
// "options": {...}} | {"op": "setProductOptions", "id": n, "options": {...}} | {"op": "addClient",
// "email": "..."} | {"op": "addService", "clientId": n, "productId": n, "serverId": n} |
// {"op": "call", "function": "CreateAccount", "serviceId": n, "area": "admin"|"client",
// "viewer": "owner"|"other"} | {"op": "server", "function": "TestConnection"|"UsageUpdate",
// "serverId": n} | {"op": "metrics", "serverId": n} | {"op": "service", "serviceId": n} |
// {"op": "usageTables"}

use StandIn\StandIn;
use WHMCS\Database\Capsule;

if ($argc < 3) {
    fwrite(STDERR, "usage: php call.php <whmcs root> '<json command>'\n");
    exit(2);
}
$root = rtrim($argv[1], '/');
$command = json_decode($argv[2], true);
if (!is_array($command) || !isset($command['op'])) {
    fwrite(STDERR, "the command must be a JSON object with an op\n");
    exit(2);
}
if (($command['area'] ?? 'admin') === 'client') {
    define('CLIENTAREA', true);
} else {
    define('ADMINAREA', true);
}
require $root . '/init.php';
require_once $root . '/modules/servers/vhis3/vhis3.php';

if (isset($command['viewer'])) {
    // WHMCS 8's CurrentUser: the client (id = the service's client) and its owner.
    $ownerId = 1;
    $viewerId = $command['viewer'] === 'owner' ? $ownerId : 2;
    \WHMCS\Authentication\CurrentUser::$user = (object) ['id' => $viewerId];
    \WHMCS\Authentication\CurrentUser::$client = new class ((int) $command['clientId'], $ownerId) {
        public $id;
        private $ownerId;

        public function __construct(int $id, int $ownerId)
        {
            $this->id = $id;
            $this->ownerId = $ownerId;
        }

        public function owner()
        {
            return (object) ['id' => $this->ownerId];
        }
    };
}

function metricValues(array $metrics): array
{
    $values = [];
    foreach ($metrics as $metric) {
        $values[$metric->systemName()] = $metric->usage() === null ? null : $metric->usage()->value();
    }
    return $values;
}

switch ($command['op']) {
    case 'setup':
        StandIn::createSchema();
        $result = true;
        break;
    case 'addServer':
        $result = StandIn::addServer($command['fields']);
        break;
    case 'addProduct':
        $result = StandIn::addProduct($command['options']);
        break;
    case 'setProductOptions':
        StandIn::setProductOptions((int) $command['id'], $command['options']);
        $result = true;
        break;
    case 'addClient':
        $result = StandIn::addClient($command['email']);
        break;
    case 'addService':
        $result = StandIn::addService((int) $command['clientId'], (int) $command['productId'], (int) $command['serverId']);
        break;
    case 'setService':
        Capsule::table('tblhosting')->where('id', (int) $command['id'])->update($command['fields']);
        $result = true;
        break;
    case 'call':
        $function = 'vhis3_' . $command['function'];
        $result = $function(StandIn::params((int) $command['serviceId']));
        break;
    case 'server':
        $function = 'vhis3_' . $command['function'];
        $result = $function(StandIn::serverParams((int) $command['serverId']));
        break;
    case 'metrics':
        $provider = vhis3_MetricProvider(StandIn::serverParams((int) $command['serverId']));
        $usage = [];
        foreach ($provider->usage() as $tenant => $metrics) {
            $usage[$tenant] = metricValues($metrics);
        }
        $result = [
            'metrics' => array_map(static function ($metric) {
                return ['name' => $metric->systemName(), 'type' => $metric->type()];
            }, array_values($provider->metrics())),
            'usage' => $usage,
        ];
        if (isset($command['tenant'])) {
            $result['tenant'] = metricValues($provider->tenantUsage($command['tenant']));
        }
        break;
    case 'service':
        $row = Capsule::table('tblhosting')->where('id', (int) $command['serviceId'])->first();
        $result = ['row' => $row, 'customfields' => StandIn::customFields((int) $row->id, (int) $row->packageid)];
        break;
    case 'usageTables':
        $schema = Capsule::schema();
        $result = [];
        foreach (['mod_vhis3_deliveries', 'mod_vhis3_usage'] as $table) {
            $result[$table] = $schema->hasTable($table) ? Capsule::table($table)->orderBy($table === 'mod_vhis3_usage' ? 'id' : 'webhook_id')->get() : [];
        }
        break;
    default:
        fwrite(STDERR, "unknown op\n");
        exit(2);
}

$log = array_map(static function ($entry) {
    unset($entry['raw'], $entry['replaceVars']);
    return $entry;
}, StandIn::$moduleLog);
echo json_encode(['result' => $result, 'log' => $log], JSON_UNESCAPED_SLASHES), "\n";
