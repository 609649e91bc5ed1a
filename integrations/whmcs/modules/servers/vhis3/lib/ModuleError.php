<?php
// An action that cannot go on, with the message staff see: what failed, never a key or a secret.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

class ModuleError extends \RuntimeException
{
}
