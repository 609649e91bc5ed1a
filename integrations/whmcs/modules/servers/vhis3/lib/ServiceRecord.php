<?php
// What WHMCS keeps for a service (integrations/whmcs/README.md): the S3 user's e-mail in Username, its secret
// key in Password (tblhosting.password, which WHMCS encrypts), its access key id in the custom
// field "Access Key ID"; written only through $params['model']->serviceProperties.

declare(strict_types=1);

namespace WHMCS\Module\Server\Vhis3;

final class ServiceRecord
{
    public const ACCESS_KEY_FIELD = 'Access Key ID';

    /** @var array */
    private $params;

    public function __construct(array $params)
    {
        $this->params = $params;
    }

    public function serviceId(): int
    {
        foreach (['serviceid', 'accountid'] as $name) {
            if (isset($this->params[$name]) && (int) $this->params[$name] > 0) {
                return (int) $this->params[$name];
            }
        }
        return 0;
    }

    /** The S3 user's e-mail kept in Username, or null when the service has none (yet). */
    public function email(): ?string
    {
        $username = isset($this->params['username']) && is_string($this->params['username'])
            ? trim($this->params['username'])
            : '';
        return EmailAddress::isValid($username) ? $username : null;
    }

    /** The e-mail, or an error for staff when the service was never created. */
    public function requireEmail(): string
    {
        $email = $this->email();
        if ($email === null) {
            throw new ModuleError(
                "this service has no S3 user yet (its Username is not the S3 user's e-mail): run Create first"
            );
        }
        return $email;
    }

    public function clientEmail(): string
    {
        $details = isset($this->params['clientsdetails']) && is_array($this->params['clientsdetails'])
            ? $this->params['clientsdetails']
            : [];
        return isset($details['email']) && is_string($details['email']) ? $details['email'] : '';
    }

    public function secretKey(): string
    {
        return isset($this->params['password']) && is_string($this->params['password']) ? $this->params['password'] : '';
    }

    public function accessKeyId(): string
    {
        $fields = isset($this->params['customfields']) && is_array($this->params['customfields'])
            ? $this->params['customfields']
            : [];
        if (isset($fields[self::ACCESS_KEY_FIELD]) && is_string($fields[self::ACCESS_KEY_FIELD])) {
            return trim($fields[self::ACCESS_KEY_FIELD]);
        }
        $properties = $this->properties(false);
        if ($properties === null || !is_callable([$properties, 'get'])) {
            return '';
        }
        try {
            return trim((string) $properties->get(self::ACCESS_KEY_FIELD));
        } catch (\Throwable $e) {
            return '';
        }
    }

    /** Keeps the e-mail and one key pair on the service. */
    public function saveUser(string $email, string $accessKeyId, string $secretKey): void
    {
        $this->save(['Username' => $email, 'Password' => $secretKey, self::ACCESS_KEY_FIELD => $accessKeyId]);
    }

    /** Forgets the key pair (the S3 user is gone); the e-mail stays, for usage still to bill. */
    public function forgetKeys(): void
    {
        $this->save(['Password' => '', self::ACCESS_KEY_FIELD => '']);
    }

    private function save(array $values): void
    {
        $properties = $this->properties(true);
        try {
            $properties->save($values);
        } catch (\Throwable $e) {
            // Not the exception's message: a database error quotes the values, the secret key among them.
            throw new ModuleError('WHMCS could not save the service\'s S3 user details (' . get_class($e) . ')');
        }
    }

    private function properties(bool $required)
    {
        $model = isset($this->params['model']) ? $this->params['model'] : null;
        $properties = null;
        // On WHMCS's Eloquent model it is a computed property, which isset() may not see.
        if (is_object($model) && (isset($model->serviceProperties) || method_exists($model, '__get'))) {
            $properties = $model->serviceProperties;
        }
        if (is_object($properties)) {
            return $properties;
        }
        if ($required) {
            throw new ModuleError('WHMCS passed no service model to save the S3 user details in (WHMCS 7.2 or later is needed)');
        }
        return null;
    }
}
