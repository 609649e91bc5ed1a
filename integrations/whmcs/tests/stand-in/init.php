<?php
// The stand-in's init.php: what usage.php requires three folders up when the end-to-end tests copy
// the module into a temporary WHMCS root. The database is the SQLite file VHIS3_STANDIN_DB names.

require_once __DIR__ . '/whmcs.php';

$database = getenv('VHIS3_STANDIN_DB');
if (!is_string($database) || $database === '') {
    http_response_code(500);
    exit("VHIS3_STANDIN_DB is not set\n");
}
\StandIn\StandIn::connect($database);
