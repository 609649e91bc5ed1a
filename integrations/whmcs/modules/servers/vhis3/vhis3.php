<?php
/**
 * vhis3: a WHMCS server (provisioning) module for S3 storage on Virtuozzo Hybrid Infrastructure,
 * driving the vhi-s3-billing functions with Standard-Webhooks-signed calls (integrations/whmcs/README.md).
 *
 * Install: copy the `modules/` folder of integrations/whmcs into the WHMCS root. The operator's
 * guide is integrations/whmcs/README.md. PHP 7.4 syntax; tested on PHP 8.2.
 *
 * Each function below is thin: the work is in lib/ (namespace WHMCS\Module\Server\Vhis3).
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

require_once __DIR__ . '/lib/autoload.php';

use WHMCS\Module\Server\Vhis3\Module;
use WHMCS\Module\Server\Vhis3\ProductSettings;

function vhis3_MetaData()
{
    return [
        'DisplayName' => 'VHI S3 storage (vhi-s3-billing)',
        'APIVersion' => '1.1',
        'RequiresServer' => true,
        'DefaultSSLPort' => '443',
        // npm start's default port; a deployment is https on 443.
        'DefaultNonSSLPort' => '3000',
        // Usage metrics name services by their Username: the S3 user's e-mail.
        'ListAccountsUniqueIdentifierField' => 'username',
        'ListAccountsUniqueIdentifierDisplayName' => 'S3 user e-mail',
    ];
}

function vhis3_ConfigOptions()
{
    return ProductSettings::definition();
}

function vhis3_TestConnection(array $params)
{
    return Module::lifecycle($params)->testConnection();
}

function vhis3_CreateAccount(array $params)
{
    return Module::lifecycle($params)->create();
}

function vhis3_SuspendAccount(array $params)
{
    return Module::lifecycle($params)->suspend();
}

function vhis3_UnsuspendAccount(array $params)
{
    return Module::lifecycle($params)->unsuspend();
}

function vhis3_TerminateAccount(array $params)
{
    return Module::lifecycle($params)->terminate();
}

function vhis3_ChangePackage(array $params)
{
    return Module::lifecycle($params)->changePackage();
}

function vhis3_AdminCustomButtonArray()
{
    return ['Rotate key' => 'rotateKey'];
}

function vhis3_ClientAreaCustomButtonArray()
{
    return ['Rotate key' => 'rotateKey'];
}

/** The "Rotate key" button, admin and client area: a new key pair replaces the old one. */
function vhis3_rotateKey(array $params)
{
    return Module::lifecycle($params)->rotateKey();
}

function vhis3_ClientArea(array $params)
{
    return Module::lifecycle($params)->clientArea();
}

function vhis3_AdminServicesTabFields(array $params)
{
    return Module::lifecycle($params)->adminServicesTabFields();
}

function vhis3_UsageUpdate(array $params)
{
    return Module::lifecycle($params)->usageUpdate();
}

function vhis3_MetricProvider(array $params)
{
    return Module::metricProvider($params);
}
