<?php
/**
 * The vhi-s3-billing usage receiver for WHMCS: the USAGE_WEBHOOK_URL of a WHMCS deployment, e.g.
 * https://billing.example.com/modules/servers/vhis3/usage.php (docs/contract.md §6; integrations/whmcs/README.md).
 *
 * It bootstraps WHMCS as callback files do, verifies each delivery's Standard Webhooks signature
 * against the Access Hash of the vhis3 server records, stores it once by webhook-id and answers
 * 2xx only once it is stored. MetricProvider and UsageUpdate bill from what it stores.
 */

require __DIR__ . '/../../../init.php';
require_once __DIR__ . '/lib/autoload.php';

use WHMCS\Module\Server\Vhis3\Module;

$headers = [];
foreach (['webhook-id', 'webhook-timestamp', 'webhook-signature'] as $name) {
    $key = 'HTTP_' . strtoupper(str_replace('-', '_', $name));
    $headers[$name] = isset($_SERVER[$key]) ? (string) $_SERVER[$key] : '';
}
$body = file_get_contents('php://input');
list($status, $answer) = Module::usageReceiver()->handle(
    isset($_SERVER['REQUEST_METHOD']) ? (string) $_SERVER['REQUEST_METHOD'] : '',
    $headers,
    $body === false ? '' : $body,
    time()
);
http_response_code($status);
header('Content-Type: application/json');
header('Cache-Control: no-store');
echo json_encode($answer, JSON_UNESCAPED_SLASHES);
