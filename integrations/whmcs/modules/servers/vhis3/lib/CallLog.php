<?php
// Every call the module makes goes to WHMCS's module log through here, with every secret it could
// contain (webhook secrets, signatures, secret keys) passed as logModuleCall's $replaceVars, which
// WHMCS masks before it writes the entry.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class CallLog
{
    public const MODULE = 'vhis3';

    /** @var string[] */
    private $secrets = [];

    /** Adds values to mask in every entry from now on (empty ones are ignored). */
    public function addSecrets(array $values): void
    {
        foreach ($values as $value) {
            if (is_string($value) && $value !== '') {
                $this->secrets[] = $value;
                // The same value as a JSON body carries it: `/` escaped.
                $escaped = substr((string) json_encode($value), 1, -1);
                if ($escaped !== $value) {
                    $this->secrets[] = $escaped;
                }
            }
        }
        $this->secrets = array_values(array_unique($this->secrets));
    }

    /**
     * @param string|array $request
     * @param string|array $response
     * @param string|array $processed
     */
    public function record(string $action, $request, $response, $processed, array $moreSecrets = []): void
    {
        $this->addSecrets($moreSecrets);
        if (!function_exists('logModuleCall')) {
            return;
        }
        // Longest first, so that a secret containing another is masked whole.
        $replace = $this->secrets;
        usort($replace, static function ($a, $b) {
            return strlen($b) - strlen($a);
        });
        logModuleCall(self::MODULE, $action, $request, $response, $processed, $replace);
    }

    /** @return string[] */
    public function secrets(): array
    {
        return $this->secrets;
    }
}
