<?php
// A stand-in for the parts of WHMCS the module touches, written from WHMCS's public developer
// documentation (developers.whmcs.com: module-logging, usage-metrics and the UsageBilling class
// pages, service-properties, module-parameters, authentication) — no WHMCS code. The database is
// Debian's php-illuminate-database (the Illuminate Capsule WHMCS itself builds on) over SQLite.

if (!defined('WHMCS')) {
    define('WHMCS', true);
}

foreach (['curl', 'pdo_sqlite', 'mbstring'] as $extension) {
    if (!extension_loaded($extension)) {
        fwrite(STDERR, "The PHP extension '$extension' is missing: apt-get install php-cli php-curl php-sqlite3 php-mbstring php-xml phpunit php-illuminate-database\n");
        exit(1);
    }
}
if (!is_file('/usr/share/php/Illuminate/Database/autoload.php')) {
    fwrite(STDERR, "Illuminate Database is missing: apt-get install php-illuminate-database\n");
    exit(1);
}
require_once '/usr/share/php/Illuminate/Database/autoload.php';
require_once __DIR__ . '/usage-billing.php';
require_once __DIR__ . '/StandIn.php';

if (!class_exists('WHMCS\\Database\\Capsule', false)) {
    class_alias(\Illuminate\Database\Capsule\Manager::class, 'WHMCS\\Database\\Capsule');
}

if (!function_exists('logModuleCall')) {
    /**
     * WHMCS's module log: each of $replaceVars is masked in the request, response and processed
     * data before the entry is kept. The stand-in keeps both forms so tests can check that what
     * was masked was there to mask.
     */
    function logModuleCall($module, $action, $request, $response, $processed = '', $replaceVars = [])
    {
        \StandIn\StandIn::logModuleCall($module, $action, $request, $response, $processed, $replaceVars);
    }
}
