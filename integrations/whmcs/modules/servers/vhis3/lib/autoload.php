<?php
// Loads this module's classes (namespace WHMCS\Module\Server\Vhis3, one class per file in lib/).
// WHMCS registers the same mapping for module folders itself; usage.php and the tests run where it
// may not have, so the module registers it too (classes already loaded are never loaded twice).

if (!defined('VHIS3_AUTOLOAD')) {
    define('VHIS3_AUTOLOAD', true);
    spl_autoload_register(static function ($class) {
        $prefix = 'WHMCS\\Module\\Server\\Vhis3\\';
        if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
            return;
        }
        $relative = substr($class, strlen($prefix));
        if (!preg_match('/^[A-Za-z][A-Za-z0-9]*$/D', $relative)) {
            return;
        }
        $file = __DIR__ . '/' . $relative . '.php';
        if (is_file($file)) {
            require_once $file;
        }
    });
}
