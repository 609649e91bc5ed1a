{* The service's storage on the client area's product page: endpoint, S3 user, keys (the secret
   only for the account owner) and this month's usage so far. Variables: $vhis3 (vhis3_ClientArea). *}
<div class="vhis3-storage">
    <h3>S3 storage</h3>
    <table class="table table-striped">
        <tbody>
            {if $vhis3.endpoint}
                <tr>
                    <th scope="row">Endpoint</th>
                    <td><code>{$vhis3.endpoint|escape:'html'}</code></td>
                </tr>
            {/if}
            <tr>
                <th scope="row">S3 user</th>
                <td>{if $vhis3.user}{$vhis3.user|escape:'html'}{else}not created yet{/if}</td>
            </tr>
            <tr>
                <th scope="row">Access key ID</th>
                <td>{if $vhis3.accessKeyId}<code>{$vhis3.accessKeyId|escape:'html'}</code>{else}-{/if}</td>
            </tr>
            <tr>
                <th scope="row">Secret access key</th>
                <td>
                    {if $vhis3.isOwner && $vhis3.secretKey}
                        <details>
                            <summary>Show</summary>
                            <code>{$vhis3.secretKey|escape:'html'}</code>
                        </details>
                    {elseif $vhis3.isOwner}
                        -
                    {else}
                        Shown only to the account owner.
                    {/if}
                </td>
            </tr>
        </tbody>
    </table>

    <h4>Usage in {$vhis3.month|escape:'html'} (so far, UTC)</h4>
    <table class="table">
        <tbody>
            <tr><th scope="row">Downloaded</th><td>{$vhis3.downloadedGb|escape:'html'} GB</td></tr>
            <tr><th scope="row">Uploaded</th><td>{$vhis3.uploadedGb|escape:'html'} GB</td></tr>
            <tr><th scope="row">Requests</th><td>{$vhis3.requests|escape:'html'}</td></tr>
            <tr><th scope="row">Storage</th><td>{$vhis3.storageGbMonths|escape:'html'} GB-months</td></tr>
        </tbody>
    </table>
    <p><small>GB = 10<sup>9</sup> bytes. Storage is measured hourly; a GB-month is one GB kept for a whole month.</small></p>

    {if $vhis3.isOwner && $vhis3.user}
        <form method="post" action="clientarea.php?action=productdetails">
            <input type="hidden" name="id" value="{$serviceid|escape:'html'}" />
            <input type="hidden" name="modop" value="custom" />
            <input type="hidden" name="a" value="rotateKey" />
            <button type="submit" class="btn btn-default"
                onclick="return confirm('The current key pair stops working at once. Rotate the key?');">
                Rotate key
            </button>
        </form>
    {/if}
</div>
