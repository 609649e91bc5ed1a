<?php
// No HTTP answer arrived. `$timedOut` says the request may have reached the functions anyway.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class TransportError extends \RuntimeException
{
    /** @var bool */
    public $timedOut;

    public function __construct(string $message, bool $timedOut = false)
    {
        parent::__construct($message);
        $this->timedOut = $timedOut;
    }
}
