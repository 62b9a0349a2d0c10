namespace KeyspacePubSub.Engine.Geo;

/// <summary>
/// A search area (Redis's GeoShape): a circle of <see cref="Radius"/> or a box of <see cref="Width"/> ×
/// <see cref="Height"/> around (<see cref="Lon"/>, <see cref="Lat"/>), in a unit that is <see cref="Conversion"/>
/// meters.
/// </summary>
internal sealed class GeoShape
{
    public bool IsBox;
    public double Lon, Lat;
    public double Radius, Width, Height;
    public double Conversion = 1;
}
