<?php
// A refusal or failure answered by the functions, turned into words for WHMCS staff: what failed
// and what to do, from the answer's status, code and reason (docs/contract.md §5). The functions never
// put keys or secrets in their messages, so quoting them is safe.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class FunctionsError extends ModuleError
{
    /** @var int */
    public $status;
    /** @var string */
    public $errorCode;
    /** @var string */
    public $reason;
    /** @var array */
    public $details;

    public function __construct(string $message, int $status, string $errorCode = '', string $reason = '', array $details = [])
    {
        parent::__construct($message);
        $this->status = $status;
        $this->errorCode = $errorCode;
        $this->reason = $reason;
        $this->details = $details;
    }

    public static function fromResponse(HttpResponse $response, string $url): self
    {
        $json = $response->json();
        $error = $json !== null && isset($json['error']) && is_array($json['error']) ? $json['error'] : null;
        $code = $error !== null && isset($error['code']) && is_string($error['code']) ? $error['code'] : '';
        $reason = $error !== null && isset($error['reason']) && is_string($error['reason']) ? $error['reason'] : '';
        $message = $error !== null && isset($error['message']) && is_string($error['message'])
            ? self::oneLine($error['message'])
            : '';
        $details = $error !== null && isset($error['details']) && is_array($error['details']) ? $error['details'] : [];
        $status = $response->status;
        if ($error === null) {
            return new self(
                "$url answered HTTP $status without the functions' error body: is the server record's Hostname (and path prefix) where the functions listen?",
                $status
            );
        }
        switch (true) {
            case $status === 401 && strpos($reason, 'timestamp') !== false:
                $text = "the functions refused the request's time ($message): this WHMCS server's clock must be within 5 minutes of the correct time";
                break;
            case $status === 401:
                $text = "the functions refused the module's signature ($message): the server record's Password must hold the functions' webhook secret (WEBHOOK_SECRET, whsec_…)";
                break;
            case $status === 400:
                $text = "the functions refused the request: $message";
                break;
            case $status === 404 && strpos($message, 'path:') === 0:
                $text = "no function answers at $url: check the server record's Hostname and its path prefix";
                break;
            case $status === 404:
                $text = "the S3 gateway has no such user: $message";
                break;
            case $status === 409 && $reason === 'buckets_not_empty':
                $buckets = isset($details['buckets']) && is_array($details['buckets']) ? $details['buckets'] : [];
                $text = 'the S3 user\'s buckets still hold data'
                    . (count($buckets) > 0 ? ': ' . implode(', ', array_map('strval', $buckets)) : " ($message)")
                    . ". Nothing was deleted. Empty them, or set the product's 'On termination' to delete everything and terminate again";
                break;
            case $status === 409:
                $text = "the functions refused the request as a conflict: $message";
                break;
            case $status === 502:
                $text = "the S3 gateway failed: $message";
                break;
            case $status === 503:
                $text = "the S3 gateway is unavailable: $message";
                break;
            case $status === 504:
                $text = "the S3 gateway timed out: $message";
                break;
            default:
                $text = "the functions failed (HTTP $status): $message";
        }
        return new self($text, $status, $code, $reason, $details);
    }

    private static function oneLine(string $text): string
    {
        $text = (string) preg_replace('/\s+/', ' ', $text);
        return strlen($text) > 500 ? substr($text, 0, 500) . '…' : $text;
    }
}
