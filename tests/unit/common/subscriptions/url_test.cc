// Unit tests for common/subscriptions/url.h: the url rules of each format, and the
// redacted form answers and logs show.
#include "common/subscriptions/url.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace hookpipe {
namespace {

TEST(UrlScheme, IsReadCaseInsensitivelyAndOnlyForTheFourSchemes) {
  EXPECT_EQ(urlScheme("HTTPS://a.example"), "https");
  EXPECT_EQ(urlScheme("Http://a.example"), "http");
  EXPECT_EQ(urlScheme("smtps://mail.example:465"), "smtps");
  EXPECT_EQ(urlScheme("SMTP://mail.example"), "smtp");
  EXPECT_EQ(urlScheme("ftp://a.example"), "");
  EXPECT_EQ(urlScheme("https:/a.example"), "");
  EXPECT_EQ(urlScheme("http:/"), "");
  EXPECT_EQ(urlAuthority("https://u:p@a.example:8443/x?y#z"), "u:p@a.example:8443");
  EXPECT_EQ(urlAuthority("https://a.example?x=@"), "a.example");
  EXPECT_EQ(urlAuthority("https://a.example"), "a.example");
}

TEST(UrlProblem, EachFormatTakesItsOwnSchemes) {
  EXPECT_EQ(urlProblem("https://a.example/h", true, "json"), "");
  EXPECT_EQ(urlProblem("http://a.example:8080", true, "slack"), "");
  EXPECT_EQ(urlProblem("smtp://mail.example:587", true, "email"), "");
  EXPECT_EQ(urlProblem("smtps://u:p@mail.example:465", true, "email"), "");
  EXPECT_EQ(urlProblem("", true, "json"), "url is required");
  EXPECT_EQ(urlProblem("smtp://mail.example", true, "json"),
            "url must start with http:// or https://");
  EXPECT_EQ(urlProblem("ftp://a.example", false, "json"),
            "url must start with http:// or https://");
  EXPECT_NE(urlProblem("https://mail.example", true, "email").find("SMTP server"),
            std::string::npos);
  for (const char* url : {"https://", "https://u:p@", "https://:443/x", "https:///x"}) {
    SCOPED_TRACE(url);
    EXPECT_EQ(urlProblem(url, false, "json"), "url must name a host");
  }
}

TEST(UrlProblem, AClientsUrlMustAlsoReadTheSameToCurlAStoredOneLoads) {
  const std::vector<std::pair<std::string, std::string>> strict_only = {
      {"https://a.example/a b", "url must not hold spaces or control characters"},
      {"https://a.example/\r\nX: 1", "url must not hold spaces or control characters"},
      {"https://u:p@ss@a.example/", "more than one '@'"},
      {"https://a.example:99999/", "url is not a valid URL"},
  };
  for (const auto& [url, problem] : strict_only) {
    SCOPED_TRACE(url);
    EXPECT_NE(urlProblem(url, true, "json").find(problem), std::string::npos)
        << urlProblem(url, true, "json");
    EXPECT_EQ(urlProblem(url, false, "json"), "");  // stored records keep loading
  }
}

TEST(RedactedUrl, ReplacesTheUserinfoOnlyAndLeavesAnythingElseAsIs) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"https://user:s3cret@hooks.example.com/x", "https://***@hooks.example.com/x"},
      {"HTTP://token@hooks.example.com", "HTTP://***@hooks.example.com"},
      {"https://u:p%40ss@hooks.example.com:8443/a@b?c=@#@",
       "https://***@hooks.example.com:8443/a@b?c=@#@"},
      {"https://:pw@[::1]:9/", "https://***@[::1]:9/"},
      {"smtps://u:p@mail.example.com:465", "smtps://***@mail.example.com:465"},
      {"https://hooks.example.com/a@b", "https://hooks.example.com/a@b"},
      {"https://hooks.example.com?x=a@b", "https://hooks.example.com?x=a@b"},
      {"not a url", "not a url"},
  };
  for (const auto& [url, shown] : cases) {
    SCOPED_TRACE(url);
    EXPECT_EQ(redactedUrl(url), shown);
  }
}

}  // namespace
}  // namespace hookpipe
