<?php
// The module as WHMCS sees it: its MetaData and ConfigOptions, every function answering the type
// WHMCS expects even with empty parameters (as the official sample module's tests check), and
// PHP 7.4 syntax throughout (the tests run on 8.2; WHMCS 8 installs still run 7.4).

namespace Vhis3Tests;

use PHPUnit\Framework\TestCase;

final class ModuleShapeTest extends TestCase
{
    public function testMetaData(): void
    {
        $meta = vhis3_MetaData();
        $this->assertSame('1.1', $meta['APIVersion']);
        $this->assertTrue($meta['RequiresServer']);
        $this->assertSame('username', $meta['ListAccountsUniqueIdentifierField']);
        $this->assertSame('443', $meta['DefaultSSLPort']);
    }

    public function testConfigOptionsInTheOrderTheCodeReadsThem(): void
    {
        $options = vhis3_ConfigOptions();
        $this->assertLessThanOrEqual(24, count($options));
        $names = array_column(array_values($options), 'FriendlyName');
        $this->assertSame([
            'Quota (GB)',
            'Operations per second: default',
            'Operations per second: GET',
            'Operations per second: PUT',
            'Operations per second: LIST',
            'Operations per second: DELETE',
            'Outgoing bandwidth (KB/s)',
            'S3 user',
            'On termination',
            'S3 endpoint',
        ], $names);
        $this->assertStringContainsString('Quota', $names[\WHMCS\Module\Server\Vhis3\ProductSettings::QUOTA - 1]);
        $termination = array_values($options)[\WHMCS\Module\Server\Vhis3\ProductSettings::TERMINATION - 1];
        $this->assertSame('refuse', $termination['Default']);
        $this->assertSame(['refuse', 'delete'], array_keys($termination['Options']));
        $identity = array_values($options)[\WHMCS\Module\Server\Vhis3\ProductSettings::IDENTITY - 1];
        $this->assertSame('service', $identity['Default']);
        foreach ($options as $option) {
            $this->assertContains($option['Type'], ['text', 'dropdown']);
        }
    }

    public function testEveryFunctionAnswersItsTypeWithEmptyParameters(): void
    {
        $strings = ['CreateAccount', 'SuspendAccount', 'UnsuspendAccount', 'TerminateAccount', 'ChangePackage', 'rotateKey', 'UsageUpdate'];
        foreach ($strings as $function) {
            $result = call_user_func('vhis3_' . $function, []);
            $this->assertIsString($result, $function);
            $this->assertNotSame('success', $result, $function);
        }
        $arrays = ['MetaData', 'ConfigOptions', 'TestConnection', 'AdminCustomButtonArray', 'ClientAreaCustomButtonArray', 'ClientArea', 'AdminServicesTabFields'];
        foreach ($arrays as $function) {
            $this->assertIsArray(call_user_func('vhis3_' . $function, []), $function);
        }
        $this->assertFalse(vhis3_TestConnection([])['success']);
        $this->assertInstanceOf(\WHMCS\UsageBilling\Contracts\Metrics\ProviderInterface::class, vhis3_MetricProvider([]));
    }

    public function testUsagePhpBootstrapsWhmcsLikeACallbackFile(): void
    {
        $source = (string) file_get_contents(__DIR__ . '/../../modules/servers/vhis3/usage.php');
        $this->assertStringContainsString("require __DIR__ . '/../../../init.php';", $source);
    }

    public function testPhp74SyntaxOnly(): void
    {
        $files = glob(__DIR__ . '/../../modules/servers/vhis3/{*.php,lib/*.php}', GLOB_BRACE);
        $this->assertNotEmpty($files);
        // Tokens and functions PHP 8.0+ added; a file using one would not load on PHP 7.4.
        $newTokens = [];
        foreach (['T_MATCH', 'T_NULLSAFE_OBJECT_OPERATOR', 'T_ATTRIBUTE', 'T_ENUM', 'T_READONLY'] as $name) {
            if (defined($name)) {
                $newTokens[constant($name)] = $name;
            }
        }
        $newFunctions = ['str_contains', 'str_starts_with', 'str_ends_with', 'array_is_list', 'get_debug_type', 'fdiv', 'get_resource_id', 'array_find'];
        $problems = [];
        foreach ($files as $file) {
            $tokens = token_get_all((string) file_get_contents($file));
            foreach ($tokens as $index => $token) {
                if (!is_array($token)) {
                    continue;
                }
                $where = basename($file) . ':' . $token[2];
                if (isset($newTokens[$token[0]])) {
                    $problems[] = "$where uses {$newTokens[$token[0]]}";
                }
                if ($token[0] === T_STRING && in_array(strtolower($token[1]), $newFunctions, true)) {
                    $problems[] = "$where calls {$token[1]}()";
                }
                if ($token[0] === T_STRING && in_array(strtolower($token[1]), ['mixed', 'never'], true)) {
                    $problems[] = "$where uses the type {$token[1]}";
                }
                // Constructor promotion: a visibility keyword inside __construct's parameter list.
                if ($token[0] === T_FUNCTION && $this->nextString($tokens, $index) === '__construct') {
                    $depth = 0;
                    for ($i = $index + 1; $i < count($tokens); $i++) {
                        $t = $tokens[$i];
                        if ($t === '(') {
                            $depth++;
                        } elseif ($t === ')') {
                            if (--$depth === 0) {
                                break;
                            }
                        } elseif (is_array($t) && in_array($t[0], [T_PUBLIC, T_PRIVATE, T_PROTECTED], true)) {
                            $problems[] = "$where promotes a constructor parameter";
                        }
                    }
                }
            }
        }
        $this->assertSame([], $problems, 'PHP 8-only syntax or functions');
    }

    private function nextString(array $tokens, int $index): string
    {
        for ($i = $index + 1; $i < count($tokens); $i++) {
            if (is_array($tokens[$i]) && $tokens[$i][0] === T_STRING) {
                return $tokens[$i][1];
            }
            if ($tokens[$i] === '(') {
                return '';
            }
        }
        return '';
    }
}
