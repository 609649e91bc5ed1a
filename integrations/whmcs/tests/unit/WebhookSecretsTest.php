<?php
// Standard Webhooks in PHP: the specification's own signing vector, verification rules, and
// secrets parsed without ever quoting them.

namespace Vhis3Tests;

use PHPUnit\Framework\TestCase;
use WHMCS\Module\Server\Vhis3\ModuleError;
use WHMCS\Module\Server\Vhis3\WebhookSecrets;

final class WebhookSecretsTest extends TestCase
{
    // The "sign function works" vector every library of github.com/standard-webhooks/standard-webhooks
    // tests against (commit b2fa7b8, libraries/php/tests/WebhookTest.php; MIT, Copyright (c) 2023 Svix).
    private const VECTOR_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    private const VECTOR_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
    private const VECTOR_TIMESTAMP = 1614265330;
    private const VECTOR_PAYLOAD = '{"test": 2432232314}';
    private const VECTOR_SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

    private function headers(string $signature, int $timestamp = self::VECTOR_TIMESTAMP, string $id = self::VECTOR_ID): array
    {
        return ['webhook-id' => $id, 'webhook-timestamp' => (string) $timestamp, 'webhook-signature' => $signature];
    }

    public function testSignsAsTheSpecificationsVector(): void
    {
        $secrets = WebhookSecrets::parse(self::VECTOR_SECRET, 'Password');
        $this->assertSame(self::VECTOR_SIGNATURE, $secrets->sign(self::VECTOR_ID, self::VECTOR_TIMESTAMP, self::VECTOR_PAYLOAD));
        // Without the prefix, as the reference libraries accept it.
        $this->assertSame(self::VECTOR_SIGNATURE, WebhookSecrets::parse(substr(self::VECTOR_SECRET, 6), 'Password')->sign(self::VECTOR_ID, self::VECTOR_TIMESTAMP, self::VECTOR_PAYLOAD));
    }

    public function testVerifiesTheVectorAndRefusesEveryAlteration(): void
    {
        $secrets = WebhookSecrets::parse(self::VECTOR_SECRET, 'Access Hash');
        $now = self::VECTOR_TIMESTAMP + 10;
        $this->assertNull($secrets->verify($this->headers(self::VECTOR_SIGNATURE), self::VECTOR_PAYLOAD, $now));
        $this->assertNull($secrets->verify($this->headers('v2,abc ' . self::VECTOR_SIGNATURE), self::VECTOR_PAYLOAD, $now), 'any v1 entry may match');
        $this->assertNotNull($secrets->verify($this->headers(self::VECTOR_SIGNATURE), '{"test": 2432232315}', $now), 'another body');
        $this->assertNotNull($secrets->verify($this->headers(self::VECTOR_SIGNATURE, self::VECTOR_TIMESTAMP, 'msg_other'), self::VECTOR_PAYLOAD, $now), 'another id');
        $this->assertNotNull($secrets->verify($this->headers(substr(self::VECTOR_SIGNATURE, 3)), self::VECTOR_PAYLOAD, $now), 'no version tag');
        $this->assertNotNull($secrets->verify($this->headers('v1a,' . substr(self::VECTOR_SIGNATURE, 3)), self::VECTOR_PAYLOAD, $now), 'another version tag');
        $this->assertNotNull($secrets->verify(['webhook-id' => self::VECTOR_ID], self::VECTOR_PAYLOAD, $now), 'missing headers');
        $this->assertSame('webhook-timestamp is more than 300 s from now', $secrets->verify($this->headers(self::VECTOR_SIGNATURE), self::VECTOR_PAYLOAD, self::VECTOR_TIMESTAMP + 301));
        $this->assertNotNull($secrets->verify($this->headers(self::VECTOR_SIGNATURE), self::VECTOR_PAYLOAD, self::VECTOR_TIMESTAMP - 301), 'from the future');
        $this->assertNull($secrets->verify($this->headers(self::VECTOR_SIGNATURE), self::VECTOR_PAYLOAD, self::VECTOR_TIMESTAMP - 300), 'the tolerance is inclusive');
        $this->assertNotNull($secrets->verify(['webhook-timestamp' => '1e9'] + $this->headers(self::VECTOR_SIGNATURE), self::VECTOR_PAYLOAD, $now));
    }

    public function testDuringRotationAnyOfSeveralSecretsVerifiesAndEveryOneSigns(): void
    {
        $other = 'whsec_' . base64_encode(str_repeat('k', 32));
        $both = WebhookSecrets::parse("$other  " . self::VECTOR_SECRET . "\n", 'Access Hash');
        $this->assertSame(2, $both->count());
        $this->assertNull($both->verify($this->headers(self::VECTOR_SIGNATURE), self::VECTOR_PAYLOAD, self::VECTOR_TIMESTAMP));
        $signature = $both->sign(self::VECTOR_ID, self::VECTOR_TIMESTAMP, self::VECTOR_PAYLOAD);
        $this->assertCount(2, explode(' ', $signature));
        $this->assertStringEndsWith(' ' . self::VECTOR_SIGNATURE, $signature);
        // Records that hold a typo are skipped, not fatal, on the receiving side.
        $any = WebhookSecrets::parseAny(['not-a-secret', '', self::VECTOR_SECRET]);
        $this->assertSame(1, $any->count());
        $this->assertNull(WebhookSecrets::parseAny(['', 'whsec_!!']));
    }

    public function testBadSecretsAreRefusedWithoutQuotingThem(): void
    {
        foreach (['' => 'is empty', 'whsec_hunter2' => "not 'whsec_' followed by base64", 'whsec_' . base64_encode('short') => 'decodes to 5 bytes', 'whsec_' . base64_encode(str_repeat('x', 65)) => 'decodes to 65 bytes'] as $secret => $problem) {
            try {
                WebhookSecrets::parse((string) $secret, 'the Password');
                $this->fail("accepted $secret");
            } catch (ModuleError $e) {
                $this->assertStringContainsString($problem, $e->getMessage());
                $this->assertStringStartsWith('the Password', $e->getMessage());
                if ($secret !== '') {
                    $this->assertStringNotContainsString(substr((string) $secret, 6), $e->getMessage());
                }
            }
        }
    }

    public function testMaskValuesCoverEveryFormOfTheSecret(): void
    {
        $values = WebhookSecrets::parse(self::VECTOR_SECRET, 'x')->maskValues();
        $this->assertContains(self::VECTOR_SECRET, $values);
        $this->assertContains(substr(self::VECTOR_SECRET, 6), $values);
    }
}
