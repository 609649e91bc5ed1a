<?php
// PHPUnit bootstrap: the WHMCS stand-in (stubs from WHMCS's public docs, Capsule over SQLite),
// then the module itself, as WHMCS loads it.

error_reporting(E_ALL);
require_once __DIR__ . '/stand-in/whmcs.php';
require_once __DIR__ . '/../modules/servers/vhis3/vhis3.php';
require_once __DIR__ . '/unit/support/FakeTransport.php';
require_once __DIR__ . '/unit/support/ModuleTestCase.php';
require_once __DIR__ . '/unit/support/UsageFixtures.php';
