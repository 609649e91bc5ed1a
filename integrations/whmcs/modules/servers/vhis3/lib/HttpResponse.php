<?php
// One HTTP answer: status and raw body.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class HttpResponse
{
    /** @var int */
    public $status;
    /** @var string */
    public $body;

    public function __construct(int $status, string $body)
    {
        $this->status = $status;
        $this->body = $body;
    }

    /** The body as a JSON object, or null when it is not one. */
    public function json(): ?array
    {
        $decoded = json_decode($this->body, true, 64, JSON_BIGINT_AS_STRING);
        return is_array($decoded) ? $decoded : null;
    }
}
