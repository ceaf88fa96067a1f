package httpapi

import (
	"github.com/labstack/echo/v4"

	"github.com/companyapi/companyapi/web"
)

// pageRoutes serves the chat page (package web) at / and its files under
// /assets/; an unknown file is the API's JSON 404.
func pageRoutes(e *echo.Echo) {
	page := web.NewPage()
	e.GET("/", func(c echo.Context) error {
		page.Index(c.Response(), c.Request())
		return nil
	})
	e.GET("/assets/:file", func(c echo.Context) error {
		if !page.Asset(c.Response(), c.Request(), c.Param("file")) {
			return echo.ErrNotFound
		}
		return nil
	})
}
