{* Shown instead of the storage details when they cannot be read. *}
<div class="alert alert-warning">{$vhis3Error|escape:'html'}</div>
