<?php
// The stand-in's database and bookkeeping: WHMCS's tables the module reads or writes (the columns
// it uses, as named in WHMCS's schema), the module parameters WHMCS would build for a service or
// a server (developers.whmcs.com/provisioning-modules/module-parameters), the service model with
// serviceProperties (…/service-properties), and the module log.

namespace StandIn;

use WHMCS\Database\Capsule;

final class StandIn
{
    /** @var array[] every logModuleCall: module, action, raw and masked request/response/processed, replaceVars */
    public static $moduleLog = [];

    public static function connect(string $database): void
    {
        if ($database !== ':memory:' && !is_file($database)) {
            touch($database);
        }
        $capsule = new \Illuminate\Database\Capsule\Manager();
        $capsule->addConnection(['driver' => 'sqlite', 'database' => $database, 'prefix' => '']);
        $capsule->setAsGlobal();
        if ($database !== ':memory:') {
            // php -S and the CLI runner share the file.
            Capsule::connection()->statement('PRAGMA busy_timeout = 5000');
        }
    }

    public static function createSchema(): void
    {
        $schema = Capsule::schema();
        $schema->create('tblclients', function ($t) {
            $t->increments('id');
            $t->string('firstname')->default('');
            $t->string('lastname')->default('');
            $t->string('email');
        });
        $schema->create('tblservers', function ($t) {
            $t->increments('id');
            $t->string('name')->default('');
            $t->string('ipaddress')->default('');
            $t->string('hostname')->default('');
            $t->string('type');
            $t->string('username')->default('');
            $t->text('password')->default('');
            $t->text('accesshash')->default('');
            $t->string('secure')->default('');
            $t->string('port')->default('');
            $t->integer('disabled')->default(0);
        });
        $schema->create('tblproducts', function ($t) {
            $t->increments('id');
            $t->string('name')->default('');
            $t->string('servertype')->default('');
            for ($i = 1; $i <= 24; $i++) {
                $t->text('configoption' . $i)->default('');
            }
        });
        $schema->create('tblhosting', function ($t) {
            $t->increments('id');
            $t->integer('userid');
            $t->integer('packageid');
            $t->integer('server');
            $t->string('domain')->default('');
            $t->string('username')->default('');
            $t->text('password')->default('');
            $t->string('domainstatus')->default('Pending');
            $t->integer('diskusage')->default(0);
            $t->integer('disklimit')->default(0);
            $t->integer('bwusage')->default(0);
            $t->integer('bwlimit')->default(0);
            $t->timestamp('lastupdate')->nullable();
        });
        $schema->create('tblcustomfields', function ($t) {
            $t->increments('id');
            $t->string('type');
            $t->integer('relid');
            $t->string('fieldname');
            $t->string('fieldtype')->default('text');
            $t->string('adminonly')->default('');
        });
        $schema->create('tblcustomfieldsvalues', function ($t) {
            $t->increments('id');
            $t->integer('fieldid');
            $t->integer('relid');
            $t->text('value');
        });
    }

    /** A vhis3 server record; $fields as tblservers columns. Returns its id. */
    public static function addServer(array $fields): int
    {
        return (int) Capsule::table('tblservers')->insertGetId(array_merge(['type' => 'vhis3', 'name' => 'VHI S3'], $fields));
    }

    /** A vhis3 product; $options as [configoption number => value]. Returns its id. */
    public static function addProduct(array $options, string $name = 'S3 storage'): int
    {
        $row = ['name' => $name, 'servertype' => 'vhis3'];
        foreach ($options as $number => $value) {
            $row['configoption' . $number] = (string) $value;
        }
        return (int) Capsule::table('tblproducts')->insertGetId($row);
    }

    public static function setProductOptions(int $productId, array $options): void
    {
        $row = [];
        foreach ($options as $number => $value) {
            $row['configoption' . $number] = (string) $value;
        }
        Capsule::table('tblproducts')->where('id', $productId)->update($row);
    }

    public static function addClient(string $email, string $firstname = 'Ada'): int
    {
        return (int) Capsule::table('tblclients')->insertGetId(['email' => $email, 'firstname' => $firstname, 'lastname' => 'Client']);
    }

    /** A service as WHMCS makes it at order time: a generated username and password. */
    public static function addService(int $clientId, int $productId, int $serverId, array $fields = []): int
    {
        return (int) Capsule::table('tblhosting')->insertGetId(array_merge([
            'userid' => $clientId,
            'packageid' => $productId,
            'server' => $serverId,
            'username' => 'ada' . mt_rand(100, 999),
            'password' => 'Gen3ratedPw',
            'domainstatus' => 'Pending',
        ], $fields));
    }

    /** The module parameters WHMCS passes to a service's module functions. */
    public static function params(int $serviceId): array
    {
        $service = Capsule::table('tblhosting')->where('id', $serviceId)->first();
        if ($service === null) {
            throw new \RuntimeException("no service $serviceId");
        }
        $product = Capsule::table('tblproducts')->where('id', $service->packageid)->first();
        $client = Capsule::table('tblclients')->where('id', $service->userid)->first();
        $params = array_merge(self::serverParams((int) $service->server), [
            'accountid' => (int) $service->id,
            'serviceid' => (int) $service->id,
            'userid' => (int) $service->userid,
            'pid' => (int) $service->packageid,
            'packageid' => (int) $service->packageid,
            'domain' => (string) $service->domain,
            'username' => (string) $service->username,
            'password' => (string) $service->password,
            'status' => (string) $service->domainstatus,
            'producttype' => 'other',
            'moduletype' => 'vhis3',
            'customfields' => self::customFields((int) $service->id, (int) $service->packageid),
            'configoptions' => [],
            'clientsdetails' => [
                'userid' => (int) $client->id,
                'id' => (int) $client->id,
                'firstname' => (string) $client->firstname,
                'lastname' => (string) $client->lastname,
                'email' => (string) $client->email,
            ],
            'model' => new ServiceModel((int) $service->id, (int) $service->packageid),
        ]);
        for ($i = 1; $i <= 24; $i++) {
            $params['configoption' . $i] = (string) $product->{'configoption' . $i};
        }
        return $params;
    }

    /** The server fields WHMCS passes (all a server-level function such as TestConnection gets). */
    public static function serverParams(int $serverId): array
    {
        $server = Capsule::table('tblservers')->where('id', $serverId)->first();
        if ($server === null) {
            return ['server' => false];
        }
        $secure = $server->secure === 'on';
        return [
            'server' => true,
            'serverid' => (int) $server->id,
            'serverip' => (string) $server->ipaddress,
            'serverhostname' => (string) $server->hostname,
            'serverusername' => (string) $server->username,
            'serverpassword' => (string) $server->password,
            'serveraccesshash' => (string) $server->accesshash,
            'serversecure' => $secure,
            'serverhttpprefix' => $secure ? 'https' : 'http',
            'serverport' => (string) $server->port,
        ];
    }

    /** @return array<string, string> the service's product custom fields by name */
    public static function customFields(int $serviceId, int $productId): array
    {
        $fields = [];
        $rows = Capsule::table('tblcustomfields')->where('type', 'product')->where('relid', $productId)->get();
        foreach ($rows as $field) {
            $value = Capsule::table('tblcustomfieldsvalues')->where('fieldid', $field->id)->where('relid', $serviceId)->value('value');
            $fields[(string) $field->fieldname] = $value === null ? '' : (string) $value;
        }
        return $fields;
    }

    public static function logModuleCall($module, $action, $request, $response, $processed, $replaceVars): void
    {
        $mask = static function ($data) use ($replaceVars) {
            $text = is_string($data) ? $data : print_r($data, true);
            foreach ((array) $replaceVars as $secret) {
                if (is_string($secret) && $secret !== '') {
                    $text = str_replace($secret, '********', $text);
                }
            }
            return $text;
        };
        $raw = static function ($data) {
            return is_string($data) ? $data : print_r($data, true);
        };
        $entry = [
            'module' => $module,
            'action' => $action,
            'request' => $mask($request),
            'response' => $mask($response),
            'processed' => $mask($processed),
            'raw' => ['request' => $raw($request), 'response' => $raw($response), 'processed' => $raw($processed)],
            'replaceVars' => array_values((array) $replaceVars),
        ];
        self::$moduleLog[] = $entry;
        $file = getenv('VHIS3_STANDIN_LOG');
        if (is_string($file) && $file !== '') {
            // What WHMCS would keep: the masked entry only.
            unset($entry['raw'], $entry['replaceVars']);
            file_put_contents($file, json_encode($entry, JSON_UNESCAPED_SLASHES) . "\n", FILE_APPEND | LOCK_EX);
        }
    }
}

/** The service model WHMCS passes as $params['model'] (only what the module uses). */
final class ServiceModel
{
    /** @var int */
    public $id;
    /** @var ServiceProperties */
    public $serviceProperties;

    public function __construct(int $id, int $productId)
    {
        $this->id = $id;
        $this->serviceProperties = new ServiceProperties($id, $productId);
    }
}

/**
 * Service properties: Username and Password are tblhosting's own columns; any other name is a
 * product custom field, created on first save.
 */
final class ServiceProperties
{
    /** @var bool tests make saving fail */
    public static $failSaves = false;

    /** @var int */
    private $serviceId;
    /** @var int */
    private $productId;

    public function __construct(int $serviceId, int $productId)
    {
        $this->serviceId = $serviceId;
        $this->productId = $productId;
    }

    public function save(array $values): void
    {
        if (self::$failSaves) {
            throw new \RuntimeException('SQLSTATE[HY000]: General error: 5 database is locked (SQL: update tblhosting set password = ' . ($values['Password'] ?? '') . ')');
        }
        foreach ($values as $name => $value) {
            if ($name === 'Username' || $name === 'Password') {
                Capsule::table('tblhosting')->where('id', $this->serviceId)->update([strtolower($name) => (string) $value]);
                continue;
            }
            $fieldId = Capsule::table('tblcustomfields')->where('type', 'product')->where('relid', $this->productId)->where('fieldname', $name)->value('id');
            if ($fieldId === null) {
                $fieldId = Capsule::table('tblcustomfields')->insertGetId(['type' => 'product', 'relid' => $this->productId, 'fieldname' => $name]);
            }
            $existing = Capsule::table('tblcustomfieldsvalues')->where('fieldid', $fieldId)->where('relid', $this->serviceId);
            if ($existing->exists()) {
                $existing->update(['value' => (string) $value]);
            } else {
                Capsule::table('tblcustomfieldsvalues')->insert(['fieldid' => $fieldId, 'relid' => $this->serviceId, 'value' => (string) $value]);
            }
        }
    }

    public function get(string $name)
    {
        if ($name === 'Username' || $name === 'Password') {
            return Capsule::table('tblhosting')->where('id', $this->serviceId)->value(strtolower($name));
        }
        return StandIn::customFields($this->serviceId, $this->productId)[$name] ?? null;
    }
}
