<?php
// A tiny HTTP peer for CurlTransportTest, served by `php -S`: /echo answers what it received,
// /redirect answers a 302 elsewhere, /slow answers after 3 s.

$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if ($path === '/redirect') {
    header('Location: /echo', true, 302);
    echo 'moved';
    return;
}
if ($path === '/slow') {
    sleep(3);
    echo 'late';
    return;
}
header('Content-Type: application/json');
echo json_encode([
    'method' => $_SERVER['REQUEST_METHOD'],
    'path' => $path,
    'webhookId' => isset($_SERVER['HTTP_WEBHOOK_ID']) ? $_SERVER['HTTP_WEBHOOK_ID'] : null,
    'expect' => isset($_SERVER['HTTP_EXPECT']) ? $_SERVER['HTTP_EXPECT'] : null,
    'body' => file_get_contents('php://input'),
]);
