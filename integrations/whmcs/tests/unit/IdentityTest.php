<?php
// The S3 user's e-mail: the functions' own rule (shared/ostor/validate.ts), and how a service's
// address is derived from its client's.

namespace Vhis3Tests;

use PHPUnit\Framework\TestCase;
use WHMCS\Module\Server\Vhis3\EmailAddress;
use WHMCS\Module\Server\Vhis3\ModuleError;
use WHMCS\Module\Server\Vhis3\S3Identity;

final class IdentityTest extends TestCase
{
    public function testTheEmailRuleMatchesTheFunctions(): void
    {
        $valid = [
            'a@example.com',
            'a+b@example.com',
            "x!#$%&'*+/=?^_`{|}~-@example.com",
            'first.last@sub.example.co',
            str_repeat('l', 64) . '@example.com',
            'a@' . str_repeat('d', 63) . '.' . str_repeat('e', 63) . '.' . str_repeat('f', 63) . '.' . str_repeat('g', 57),
        ];
        $invalid = [
            '', 'a', 'a@b', 'a@@b.com', 'a@b@example.com', 'a b@example.com', 'a@example.123', '.a@example.com',
            'a.@example.com', 'a..b@example.com', "\xc3\xa4@example.com", str_repeat('l', 65) . '@example.com',
            'a@-x.com', 'a@x_y.com', '"quoted"@example.com', "a@example.com\n", "a@example.com ", 'x@example.com&disable',
            str_repeat('l', 64) . '@' . str_repeat('d', 63) . '.' . str_repeat('e', 63) . '.' . str_repeat('f', 63) . '.com',
        ];
        foreach ($valid as $email) {
            $this->assertNull(EmailAddress::problem($email), $email);
        }
        foreach ($invalid as $email) {
            $this->assertNotNull(EmailAddress::problem($email), json_encode($email));
        }
        $this->assertSame('must be at most 254 characters', EmailAddress::problem(str_repeat('a', 250) . '@x.com'));
    }

    public function testPerServiceAddressesArePlusAddressedWithTheServiceId(): void
    {
        $this->assertSame('ada+whmcs-7@example.com', S3Identity::derive('ada@example.com', 7, S3Identity::PER_SERVICE));
        $this->assertSame('ada+whmcs-7@example.com', S3Identity::derive('  ada@example.com ', 7, S3Identity::PER_SERVICE));
        $this->assertSame('Ada.Lovelace+shop+whmcs-12@Example.COM', S3Identity::derive('Ada.Lovelace+shop@Example.COM', 12, S3Identity::PER_SERVICE), 'case and an existing tag kept as given');
        $this->assertNotSame(
            S3Identity::derive('ada@example.com', 1, S3Identity::PER_SERVICE),
            S3Identity::derive('ada@example.com', 11, S3Identity::PER_SERVICE)
        );
    }

    public function testALongLocalPartIsShortenedBeforeTheTagWhichStaysWhole(): void
    {
        $local = str_repeat('x', 60);
        $email = S3Identity::derive("$local@example.com", 123456, S3Identity::PER_SERVICE);
        $this->assertSame(str_repeat('x', 64 - strlen('+whmcs-123456')) . '+whmcs-123456@example.com', $email);
        $this->assertNull(EmailAddress::problem($email));
        // Two services of a client whose address is that long still differ.
        $this->assertNotSame($email, S3Identity::derive("$local@example.com", 123457, S3Identity::PER_SERVICE));
    }

    public function testALongDomainLeavesRoomForTheWholeAddress(): void
    {
        $domain = str_repeat('d', 63) . '.' . str_repeat('e', 63) . '.' . str_repeat('f', 63) . '.' . str_repeat('g', 40) . '.com';
        $email = S3Identity::derive("someone.with.a.name@$domain", 42, S3Identity::PER_SERVICE);
        $this->assertSame(254, strlen($email));
        $this->assertStringEndsWith("+whmcs-42@$domain", $email);
        $this->assertNull(EmailAddress::problem($email));
    }

    public function testALocalPartTheGatewayWouldRefuseIsReplaced(): void
    {
        $this->assertSame('whmcs-9@example.com', S3Identity::derive('"john doe"@example.com', 9, S3Identity::PER_SERVICE));
        $this->assertSame('whmcs-9@example.com', S3Identity::derive("j\xc3\xb6rg@example.com", 9, S3Identity::PER_SERVICE));
    }

    public function testUnusableAddressesAreRefusedWithAReason(): void
    {
        $cases = [
            ['ada@localhost', S3Identity::PER_SERVICE, 'domain'],
            ["ada@b\xc3\xbccher.example", S3Identity::PER_SERVICE, 'domain'],
            ['no-at-sign', S3Identity::PER_SERVICE, "no '@'"],
            ['a b@example.com', S3Identity::PER_CLIENT, 'one user per service'],
        ];
        foreach ($cases as $case) {
            try {
                S3Identity::derive($case[0], 5, $case[1]);
                $this->fail("accepted {$case[0]}");
            } catch (ModuleError $e) {
                $this->assertStringContainsString($case[2], $e->getMessage());
            }
        }
    }

    public function testPerClientIsTheClientsAddressAsGiven(): void
    {
        $this->assertSame('Ada@Example.com', S3Identity::derive('Ada@Example.com', 5, S3Identity::PER_CLIENT));
    }
}
