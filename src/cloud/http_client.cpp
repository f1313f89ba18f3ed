#include "bluetti/cloud/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "bluetti/secure_clear.hpp"

namespace bluetti::cloud {

std::string HttpResponse::header(const std::string& name) const {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto it = headers.find(lower);
    return it == headers.end() ? std::string() : it->second;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string out;
    for (const auto& [key, value] : fields) {
        char* escaped = curl_easy_escape(nullptr, value.c_str(), static_cast<int>(value.size()));
        out += (out.empty() ? "" : "&") + key + "=" + (escaped ? escaped : "");
        curl_free(escaped);
    }
    return out;
}

struct Transfer {
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    std::string body;
    HttpResponse response;
    HttpClient::Callback done;
    char error[CURL_ERROR_SIZE] = {};

    ~Transfer() { secure_clear(body); }  // a login body is as good as the password (AES-ECB, key alongside)
};

struct HttpClient::Impl {
    EventLoop& loop;
    CURLM* multi = nullptr;
    EventLoop::TimerId timer = 0;
    std::map<CURL*, std::unique_ptr<Transfer>> transfers;

    explicit Impl(EventLoop& l) : loop(l) {}

    static int on_socket(CURL*, curl_socket_t fd, int what, void* self, void*) {
        auto* impl = static_cast<Impl*>(self);
        if (what == CURL_POLL_REMOVE) {
            impl->loop.unwatch(fd);
            return 0;
        }
        const short events = static_cast<short>(((what & CURL_POLL_IN) ? POLLIN : 0) | ((what & CURL_POLL_OUT) ? POLLOUT : 0));
        impl->loop.watch(fd, events, [impl, fd](short revents) {
            int mask = 0;
            if (revents & POLLIN) mask |= CURL_CSELECT_IN;
            if (revents & POLLOUT) mask |= CURL_CSELECT_OUT;
            if (revents & (POLLERR | POLLHUP)) mask |= CURL_CSELECT_ERR;
            int running = 0;
            curl_multi_socket_action(impl->multi, fd, mask, &running);
            impl->collect();
        });
        return 0;
    }

    static int on_timer(CURLM*, long timeout_ms, void* self) {
        auto* impl = static_cast<Impl*>(self);
        if (impl->timer) impl->loop.cancel(impl->timer);
        impl->timer = 0;
        if (timeout_ms < 0) return 0;
        impl->timer = impl->loop.after(std::chrono::milliseconds(timeout_ms), [impl] {
            impl->timer = 0;
            int running = 0;
            curl_multi_socket_action(impl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
            impl->collect();
        });
        return 0;
    }

    static size_t on_body(char* data, size_t size, size_t count, void* user) {
        static_cast<Transfer*>(user)->response.body.append(data, size * count);
        return size * count;
    }

    static size_t on_header(char* data, size_t size, size_t count, void* user) {
        std::string line(data, size * count);
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(" \t"));
            while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
            static_cast<Transfer*>(user)->response.headers[name] = value;
        }
        return size * count;
    }

    // Finished transfers: run their callbacks after removing them, since a callback may start more.
    void collect() {
        int left = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
            if (msg->msg != CURLMSG_DONE) continue;
            auto it = transfers.find(msg->easy_handle);
            if (it == transfers.end()) continue;
            std::unique_ptr<Transfer> t = std::move(it->second);
            transfers.erase(it);
            const CURLcode code = msg->data.result;
            curl_multi_remove_handle(multi, t->easy);
            if (code == CURLE_OK) {
                curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->response.status);
                t->done(std::move(t->response));
            } else {
                t->done(fail(std::string(curl_easy_strerror(code)) + (t->error[0] ? std::string(": ") + t->error : std::string())));
            }
            curl_slist_free_all(t->headers);
            curl_easy_cleanup(t->easy);
        }
    }
};

HttpClient::HttpClient(EventLoop& loop) : impl_(std::make_unique<Impl>(loop)) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    impl_->multi = curl_multi_init();
    curl_multi_setopt(impl_->multi, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
    curl_multi_setopt(impl_->multi, CURLMOPT_SOCKETDATA, impl_.get());
    curl_multi_setopt(impl_->multi, CURLMOPT_TIMERFUNCTION, &Impl::on_timer);
    curl_multi_setopt(impl_->multi, CURLMOPT_TIMERDATA, impl_.get());
}

HttpClient::~HttpClient() {
    for (auto& [easy, t] : impl_->transfers) {
        curl_multi_remove_handle(impl_->multi, easy);
        curl_slist_free_all(t->headers);
        curl_easy_cleanup(easy);
    }
    if (impl_->timer) impl_->loop.cancel(impl_->timer);
    curl_multi_cleanup(impl_->multi);
}

std::size_t HttpClient::in_flight() const {
    return impl_->transfers.size();
}

void HttpClient::send(const HttpRequest& request, Callback done) {
    auto t = std::make_unique<Transfer>();
    t->easy = curl_easy_init();
    t->done = std::move(done);
    t->body = request.body;
    CURL* e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    if (!request.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, request.ca_file.c_str());
    if (request.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (request.method == "POST") {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.c_str());
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(t->body.size()));
    } else if (request.method != "GET") {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    for (const auto& [name, value] : request.headers) t->headers = curl_slist_append(t->headers, (name + ": " + value).c_str());
    if (!request.content_type.empty()) t->headers = curl_slist_append(t->headers, ("Content-Type: " + request.content_type).c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    impl_->transfers[e] = std::move(t);
    curl_multi_add_handle(impl_->multi, e);
}

}  // namespace bluetti::cloud
